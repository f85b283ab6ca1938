// _inlet: the native half of the inlet Python package (python/inlet). It binds only the
// public API (include/inlet); the Python half adds conversions, defaults and docs.
#include <arrow/compute/initialize.h>
#include <nanobind/nanobind.h>

#include <stdexcept>
#include <string>

#include "arrow_stream.h"
#include "bindings.h"
#include "errors.h"
#include "inlet/table.h"

NB_MODULE(_inlet, m) {
  namespace py = inlet::python;
  namespace nb = nanobind;
  m.doc() = "inlet's engine (use the inlet package, not this module).";
  // Arrow's compute functions (filters, casts, sorts) live in libarrow_compute and are
  // registered once per process: pyarrow.compute does it when imported, the CLI at
  // start. Without it a filter fails ("No function registered with name: greater").
  if (auto st = arrow::compute::Initialize(); !st.ok())
    throw std::runtime_error("cannot register Arrow's compute functions: " +
                             st.ToString());
  py::AddStreams(m);
  py::AddResults(m);
  py::AddTable(m);
  py::AddPipelines(m);
  // Arrow's S3 support must be finalized before the process ends.
  nb::module_::import_("atexit").attr("register")(
      nb::cpp_function([] { inlet::FinalizeObjectStorage(); }));
}
