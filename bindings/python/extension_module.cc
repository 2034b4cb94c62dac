// The importable extension module `alltools` (built as alltools.cpython-*.so; see CMakeLists.txt).
#include <pybind11/pybind11.h>

#include "bindings/python/py_agent.h"
#include "bindings/python/py_functions.h"

PYBIND11_MODULE(alltools, m) {
  alltools::python::define_alltools_module(m);
  alltools::python::define_agent(m);
}
