// The parts of the _inlet extension module, each adding its classes and functions.
#pragma once

#include <nanobind/nanobind.h>

namespace inlet::python {

namespace nb = nanobind;

void AddResults(nb::module_& m);    // results_bindings.cc
void AddTable(nb::module_& m);      // table_bindings.cc
void AddPipelines(nb::module_& m);  // pipeline_bindings.cc

}  // namespace inlet::python
