# Locates Arrow C++ and Parquet C++.
#
# 1. An installed Arrow (find_package(Arrow/Parquet CONFIG)), e.g. from apache's apt repository.
# 2. Otherwise the C++ libraries and headers that ship inside the pyarrow wheel, located by
#    asking the Python interpreter INLET_PYTHON (set by CMakeLists.txt: the project's .venv
#    by default).
#
# Either way, the targets inlet::arrow, inlet::arrow_compute and inlet::parquet are defined.

find_package(Arrow CONFIG QUIET)
find_package(Parquet CONFIG QUIET)
find_package(ArrowCompute CONFIG QUIET)

if(Arrow_FOUND AND Parquet_FOUND)
  message(STATUS "inlet: using installed Arrow ${Arrow_VERSION}")
  add_library(inlet::arrow ALIAS Arrow::arrow_shared)
  add_library(inlet::parquet ALIAS Parquet::parquet_shared)
  if(ArrowCompute_FOUND)
    add_library(inlet::arrow_compute ALIAS ArrowCompute::arrow_compute_shared)
  else()
    add_library(inlet_arrow_compute_none INTERFACE)
    add_library(inlet::arrow_compute ALIAS inlet_arrow_compute_none)
  endif()
  return()
endif()

execute_process(
  COMMAND "${INLET_PYTHON}" -c
          "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.__version__)"
  OUTPUT_VARIABLE _pa_out RESULT_VARIABLE _pa_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "inlet: no installed Arrow and no pyarrow at ${INLET_PYTHON}; "
                      "run `make bootstrap` (scripts/bootstrap.sh) first")
endif()
string(REPLACE "\n" ";" _pa_lines "${_pa_out}")
list(GET _pa_lines 0 PYARROW_INCLUDE_DIR)
list(GET _pa_lines 1 PYARROW_LIBRARY_DIR)
list(GET _pa_lines 2 PYARROW_VERSION)
message(STATUS "inlet: using Arrow C++ from the pyarrow ${PYARROW_VERSION} wheel at ${PYARROW_LIBRARY_DIR}")

function(_inlet_pyarrow_lib target name)
  file(GLOB _cands "${PYARROW_LIBRARY_DIR}/lib${name}.so.[0-9]*")
  list(FILTER _cands EXCLUDE REGEX "\\.so\\.[0-9]+\\.[0-9]")
  if(NOT _cands)
    message(FATAL_ERROR "inlet: lib${name}.so not found in ${PYARROW_LIBRARY_DIR}")
  endif()
  list(GET _cands 0 _lib)
  add_library(${target} SHARED IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${_lib}"
    INTERFACE_INCLUDE_DIRECTORIES "${PYARROW_INCLUDE_DIR}")
endfunction()

_inlet_pyarrow_lib(inlet_pa_arrow arrow)
_inlet_pyarrow_lib(inlet_pa_parquet parquet)
_inlet_pyarrow_lib(inlet_pa_arrow_compute arrow_compute)
add_library(inlet::arrow ALIAS inlet_pa_arrow)
add_library(inlet::parquet ALIAS inlet_pa_parquet)
add_library(inlet::arrow_compute ALIAS inlet_pa_arrow_compute)
# Executables find the wheel's libraries at run time without LD_LIBRARY_PATH.
set(CMAKE_BUILD_RPATH "${PYARROW_LIBRARY_DIR}")
set(CMAKE_INSTALL_RPATH "${PYARROW_LIBRARY_DIR}")
