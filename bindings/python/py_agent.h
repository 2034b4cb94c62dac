// alltools.Agent for Python (py_agent.cc).
#pragma once

#include <pybind11/pybind11.h>

namespace alltools::python {

void define_agent(pybind11::module_& m);

}  // namespace alltools::python
