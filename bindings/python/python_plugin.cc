#include "bindings/python/python_plugin.h"

#include <pybind11/embed.h>

#include <mutex>

#include "bindings/python/py_functions.h"

namespace py = pybind11;

PYBIND11_EMBEDDED_MODULE(alltools, m) { alltools::python::define_alltools_module(m); }

namespace alltools::python {

namespace {
// Starts the interpreter once and releases the GIL so any thread can take it.
void ensure_interpreter() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (Py_IsInitialized()) return;  // a host (e.g. python3 itself) already runs one
    py::initialize_interpreter(/*init_signal_handlers=*/false);
    PyEval_SaveThread();  // the interpreter lives until exit; the thread state is intentionally not restored
  });
}
}  // namespace

Status load_python_plugin(const std::filesystem::path& file, tools::functions::FunctionRegistry& registry) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return make_error(ErrorCode::kNotFound, "Python plugin " + file.string() + " does not exist");
  }
  const std::filesystem::path abs = std::filesystem::absolute(file);
  ensure_interpreter();
  py::gil_scoped_acquire gil;
  const std::size_t before = registered_functions().size();
  try {
    py::module_ sys = py::module_::import("sys");
    py::list path = sys.attr("path");
    path.insert(0, abs.parent_path().string());
    py::dict globals;
    globals["__name__"] = "__alltools_plugin__";
    globals["__file__"] = abs.string();
    globals["__builtins__"] = py::module_::import("builtins");
    py::eval_file(abs.string(), globals);
  } catch (const py::error_already_set& e) {
    registered_functions().resize(before);
    return make_error(ErrorCode::kInvalidArgument, "Python plugin " + file.string() + " raised " + e.what());
  }
  if (registered_functions().size() == before) {
    return make_error(ErrorCode::kInvalidArgument,
                      "Python plugin " + file.string() + " declares no function (decorate them with @alltools.function)");
  }
  for (std::size_t i = before; i < registered_functions().size(); ++i) {
    const PyFunction& f = registered_functions()[i];
    Status s = registry.add(f.spec, f.invoker);
    if (!s.ok()) return s.error().context("Python plugin " + file.string());
  }
  return ok_status();
}

}  // namespace alltools::python
