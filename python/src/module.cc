// _inlet: the native half of the inlet Python package (python/inlet). It binds only the
// public API (include/inlet); the Python half adds conversions, defaults and docs.
#include <nanobind/nanobind.h>

#include "arrow_stream.h"
#include "bindings.h"
#include "errors.h"
#include "inlet/table.h"

NB_MODULE(_inlet, m) {
  namespace py = inlet::python;
  namespace nb = nanobind;
  m.doc() = "inlet's engine (use the inlet package, not this module).";
  py::AddStreams(m);
  py::AddResults(m);
  py::AddTable(m);
  py::AddPipelines(m);
  // Arrow's S3 support must be finalized before the process ends.
  nb::module_::import_("atexit").attr("register")(
      nb::cpp_function([] { inlet::FinalizeObjectStorage(); }));
}
