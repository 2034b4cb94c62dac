// The `alltools` Python module's function side: the @alltools.function decorator, the process-wide list of
// Python functions it registered, and the invoker that calls one from any thread (taking the GIL).
// Python functions run in-process: they are trusted code (a hang or crash in one is the runtime's).
#pragma once

#include <string>
#include <vector>

#include <pybind11/pybind11.h>

#include "tools/functions/function_registry.h"

namespace alltools::python {

// Defines everything in the module `m` (shared by the extension module and the embedded one).
void define_alltools_module(pybind11::module_& m);

// The schema-derivation Python source (schema_from_signature.cc).
const char* schema_from_signature_source();

struct PyFunction {
  tools::functions::FunctionSpec spec;
  tools::functions::CppFunction invoker;  // holds the Python callable; safe to call and destroy on any thread
};

// Functions registered by @alltools.function so far, in order (GIL must be held).
std::vector<PyFunction>& registered_functions();

// Wraps a Python callable: kwargs from the JSON object, result str as is / anything else through json.dumps
// (ensure_ascii=False). A Python exception becomes an Error naming its type and message.
tools::functions::CppFunction make_python_invoker(pybind11::object fn);

}  // namespace alltools::python
