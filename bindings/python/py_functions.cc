#include "bindings/python/py_functions.h"

#include <pybind11/eval.h>
#include <pybind11/stl.h>

#include <memory>

namespace py = pybind11;

namespace alltools::python {

namespace {

// Owns a Python object; releases it under the GIL (if the interpreter is still alive) from any thread.
struct PyRef {
  explicit PyRef(py::object o) : obj(std::move(o)) {}
  ~PyRef() {
    if (!Py_IsInitialized()) {
      obj.release();  // the interpreter is gone: nothing to decref into
      return;
    }
    py::gil_scoped_acquire gil;
    obj = py::object();
  }
  py::object obj;
};

nlohmann::json to_json(py::handle value) {
  py::module_ json_mod = py::module_::import("json");
  std::string text = json_mod.attr("dumps")(value).cast<std::string>();
  return nlohmann::json::parse(text);
}

nlohmann::ordered_json to_ordered_json(py::handle value) {
  py::module_ json_mod = py::module_::import("json");
  return nlohmann::ordered_json::parse(json_mod.attr("dumps")(value, py::arg("ensure_ascii") = false).cast<std::string>());
}

py::object from_json(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

std::string exception_text(const py::error_already_set& e) {
  // "ValueError: message" plus the innermost frame when there is a traceback.
  std::string text = e.what();
  auto nl = text.find("\n\nAt:");
  if (nl != std::string::npos) text = text.substr(0, nl);
  return text;
}

}  // namespace

std::vector<PyFunction>& registered_functions() {
  static auto* list = new std::vector<PyFunction>();  // never destroyed: outlives interpreter finalization
  return *list;
}

tools::functions::CppFunction make_python_invoker(py::object fn) {
  auto ref = std::make_shared<PyRef>(std::move(fn));
  return [ref](const nlohmann::json& args, const tools::ToolContext&) -> Result<nlohmann::json> {
    if (!Py_IsInitialized()) return make_error(ErrorCode::kUnavailable, "the Python interpreter is not running");
    py::gil_scoped_acquire gil;
    try {
      py::dict kwargs = from_json(args);
      py::object result = ref->obj(**kwargs);
      if (py::isinstance<py::str>(result)) return nlohmann::json(result.cast<std::string>());
      py::module_ json_mod = py::module_::import("json");
      std::string text;
      try {
        text = json_mod.attr("dumps")(result, py::arg("ensure_ascii") = false).cast<std::string>();
      } catch (const py::error_already_set&) {
        return make_error(ErrorCode::kParse, "the function returned a " +
                                                 py::str(py::type::of(result).attr("__name__")).cast<std::string>() +
                                                 ", which is not JSON-serialisable");
      }
      return nlohmann::json(std::move(text));  // shown as json.dumps wrote it (key order kept)
    } catch (const py::error_already_set& e) {
      return make_error(ErrorCode::kInternal, "Python raised " + exception_text(e));
    } catch (const std::exception& e) {
      return make_error(ErrorCode::kInternal, std::string("calling the Python function failed: ") + e.what());
    }
  };
}

namespace {

py::object register_function(py::module_ module, py::function fn, py::object name, py::object description) {
  py::object schema_for = module.attr("_schema_for");
  py::tuple derived = schema_for(fn, description);
  tools::functions::FunctionSpec spec;
  spec.name = name.is_none() ? fn.attr("__name__").cast<std::string>() : name.cast<std::string>();
  spec.description = derived[0].cast<std::string>();
  spec.parameters = to_ordered_json(derived[1]);
  for (const auto& f : registered_functions()) {
    if (f.spec.name == spec.name) throw py::value_error("alltools: function '" + spec.name + "' is already registered");
  }
  auto invoker = make_python_invoker(fn);
  // Checks name and schema now, so mistakes surface at decoration time.
  auto tool = tools::functions::make_cpp_function_tool(spec, invoker);
  if (!tool.ok()) throw py::value_error("alltools: " + tool.error().message);
  registered_functions().push_back(PyFunction{std::move(spec), std::move(invoker)});
  fn.attr("__alltools_function__") = registered_functions().back().spec.name;
  return fn;
}

py::dict spec_dict(const tools::functions::FunctionSpec& s) {
  py::dict d = py::module_::import("json").attr("loads")(
      nlohmann::ordered_json{{"name", s.name}, {"description", s.description}, {"parameters", s.parameters}}.dump());
  return d;
}

}  // namespace

void define_alltools_module(py::module_& m) {
  m.doc() = "AllTools: GLM-4 All Tools runtime. Declare functions with @alltools.function; run agents with alltools.Agent.";
  py::exec(schema_from_signature_source(), m.attr("__dict__"));

  m.def(
      "function",
      [m](py::object fn, py::object name, py::object description) -> py::object {
        if (fn.is_none()) {
          // Used as @alltools.function(name=..., description=...).
          return py::cpp_function([m, name, description](py::function f) {
            return register_function(m, std::move(f), name, description);
          });
        }
        if (!PyCallable_Check(fn.ptr())) throw py::type_error("alltools.function: expected a callable");
        return register_function(m, fn.cast<py::function>(), name, description);
      },
      py::arg("fn") = py::none(), py::kw_only(), py::arg("name") = py::none(), py::arg("description") = py::none(),
      "Decorator: registers a function for the model. Its JSON schema comes from the type hints, the description\n"
      "and the parameter descriptions from the docstring (Google 'Args:' or Sphinx ':param x:').");

  m.def("functions", [] {
    py::list out;
    for (const auto& f : registered_functions()) out.append(spec_dict(f.spec));
    return out;
  }, "The registered functions as {name, description, parameters} dicts, in registration order.");

  m.def("call", [](const std::string& name, py::object arguments) {
    for (const auto& f : registered_functions()) {
      if (f.spec.name != name) continue;
      auto tool = tools::functions::make_cpp_function_tool(f.spec, f.invoker);
      nlohmann::json args = arguments.is_none() ? nlohmann::json::object() : to_json(arguments);
      std::vector<tools::Observation> obs;
      {
        py::gil_scoped_release release;  // the invoker takes the GIL itself
        obs = tool.value()->invoke(args, tools::ToolContext{});
      }
      py::dict d;
      d["text"] = obs.empty() ? std::string() : obs[0].text;
      d["is_error"] = obs.empty() || obs[0].is_error;
      return d;
    }
    throw py::key_error("alltools: no function named '" + name + "'");
  }, py::arg("name"), py::arg("arguments") = py::none(),
  "Calls a registered function the way the runtime does (schema validation included); returns {text, is_error}.");

  m.def("clear_functions", [] { registered_functions().clear(); }, "Forgets every registered function.");
}

}  // namespace alltools::python
