// alltools.Agent: runs the GLM-4 All Tools loop (core/agent) from Python with the registered Python functions.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <memory>

#include "bindings/python/py_agent.h"
#include "bindings/python/py_functions.h"
#include "model/scripted/scripted_model.h"
#include "core/agent/agent.h"
#include "core/agent/dispatcher.h"
#include "model/cpu/cpu_model.h"
#include "model/tokenizer.h"
#include "tools/image/image_tool.h"

namespace py = pybind11;

namespace alltools::python {

namespace {

py::object json_to_py(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

[[noreturn]] void raise(const Error& e) { throw py::value_error("alltools: " + e.message); }

class PyAgent {
 public:
  PyAgent(std::optional<std::string> model_dir, std::optional<std::string> tokenizer_path,
          std::optional<std::vector<std::string>> script, std::optional<std::vector<std::string>> function_names,
          std::optional<std::string> session_dir, py::object image, int max_tool_calls, double tool_call_seconds,
          py::object on_event) : on_event_(std::move(on_event)) {
    if (!tokenizer_path && model_dir) tokenizer_path = model_dir;
    if (!tokenizer_path) throw py::value_error("alltools.Agent: give tokenizer= (a tokenizer.model file or folder) or model=");
    auto tok = model::load_tokenizer(*tokenizer_path);
    if (!tok.ok()) raise(tok.error());
    tokenizer_ = std::move(tok).value();
    if (script && model_dir) throw py::value_error("alltools.Agent: give model= or script=, not both");
    if (script) {
      model_ = std::make_unique<model::ScriptedModel>(*tokenizer_, *script,
                                                      model::ScriptedModelOptions{.add_stop = true});
    } else if (model_dir) {
      auto m = model::load_cpu_model(*model_dir, model::CpuModelOptions{});
      if (!m.ok()) raise(m.error());
      model_ = std::move(m).value();
    } else {
      throw py::value_error("alltools.Agent: give model= (a checkpoint folder) or script= (a list of model outputs)");
    }
    if (!image.is_none()) {
      std::string text = py::module_::import("json").attr("dumps")(image).cast<std::string>();
      auto config = tools::image::parse_image_config(nlohmann::json::parse(text));
      if (!config.ok()) raise(config.error());
      if (Status s = dispatcher_.add(tools::image::make_image_tool(config.value())); !s.ok()) raise(s.error());
    }
    for (const auto& f : registered_functions()) {
      if (function_names && std::find(function_names->begin(), function_names->end(), f.spec.name) == function_names->end()) {
        continue;
      }
      auto tool = tools::functions::make_cpp_function_tool(f.spec, f.invoker);
      if (!tool.ok()) raise(tool.error());
      if (Status s = dispatcher_.add(std::move(tool).value()); !s.ok()) raise(s.error());
    }
    if (function_names) {
      for (const auto& n : *function_names) {
        if (!dispatcher_.has(n)) throw py::value_error("alltools.Agent: no registered function named '" + n + "'");
      }
    }
    agent::AgentOptions options;
    options.limits.tool_calls_per_turn = max_tool_calls;
    options.limits.tool_call_seconds = tool_call_seconds;
    if (session_dir) options.session_dir = *session_dir;
    auto a = agent::Agent::create(*model_, *tokenizer_, dispatcher_, options, [this](const agent::Event& e) { handle_event(e); });
    if (!a.ok()) raise(a.error());
    agent_ = std::move(a).value();
  }

  py::dict run(const std::string& task) {
    events_.clear();
    agent::TurnResult r;
    {
      py::gil_scoped_release release;  // tools (Python functions) take the GIL on the dispatcher's thread
      r = agent_->run_turn(task);
    }
    if (callback_error_) {
      auto e = std::move(*callback_error_);
      callback_error_.reset();
      e.restore();
      throw py::error_already_set();
    }
    py::dict d;
    d["status"] = std::string(agent::turn_status_name(r.status));
    d["answer"] = r.answer;
    d["reason"] = r.reason;
    d["tool_calls"] = r.tool_calls;
    d["seconds"] = r.seconds;
    py::list artifacts;
    for (const auto& a : r.artifacts) {
      py::dict ad;
      ad["path"] = a.path.string();
      ad["mime"] = a.mime;
      ad["url"] = a.url;
      artifacts.append(ad);
    }
    d["artifacts"] = artifacts;
    py::list events;
    for (const auto& e : events_) events.append(json_to_py(e));
    d["events"] = events;
    return d;
  }

  void reset() { agent_->reset(); }
  void cancel() { agent_->cancel(); }
  std::vector<std::string> tool_names() const {
    std::vector<std::string> out;
    for (const auto& s : dispatcher_.specs()) out.push_back(s.name);
    return out;
  }

 private:
  // Runs on the loop's thread without the GIL.
  void handle_event(const agent::Event& e) {
    if (e.kind == agent::EventKind::kToken) {
      if (on_event_.is_none()) return;
    }
    nlohmann::json j = agent::event_to_json(e);
    py::gil_scoped_acquire gil;
    if (e.kind != agent::EventKind::kToken) events_.push_back(j);
    if (on_event_.is_none() || callback_error_) return;
    try {
      on_event_(json_to_py(j));
    } catch (py::error_already_set& err) {
      callback_error_ = std::make_unique<py::error_already_set>(std::move(err));
      agent_->cancel();
    }
  }

  std::unique_ptr<model::Tokenizer> tokenizer_;
  std::unique_ptr<model::LanguageModel> model_;
  agent::Dispatcher dispatcher_;
  std::unique_ptr<agent::Agent> agent_;
  py::object on_event_;
  std::vector<nlohmann::json> events_;
  std::unique_ptr<py::error_already_set> callback_error_;
};

}  // namespace

void define_agent(py::module_& m) {
  py::class_<PyAgent>(m, "Agent",
                      "A GLM-4 All Tools agent with the functions registered by @alltools.function.\n"
                      "Agent(model='ckpt dir' | script=[outputs], tokenizer=None, functions=None, session_dir=None,\n"
                      "      image=None, max_tool_calls=10, tool_call_seconds=120, on_event=None)\n"
                      "run(task) -> {status, answer, reason, tool_calls, seconds, artifacts, events}; on_event(dict)\n"
                      "streams every event (tokens included) as it happens.")
      .def(py::init<std::optional<std::string>, std::optional<std::string>, std::optional<std::vector<std::string>>,
                    std::optional<std::vector<std::string>>, std::optional<std::string>, py::object, int, double,
                    py::object>(),
           py::kw_only(), py::arg("model") = py::none(), py::arg("tokenizer") = py::none(),
           py::arg("script") = py::none(), py::arg("functions") = py::none(), py::arg("session_dir") = py::none(),
           py::arg("image") = py::none(), py::arg("max_tool_calls") = 10, py::arg("tool_call_seconds") = 120.0,
           py::arg("on_event") = py::none())
      .def("run", &PyAgent::run, py::arg("task"), "Runs one user turn to its end and returns its result.")
      .def("reset", &PyAgent::reset, "Clears the conversation.")
      .def("cancel", &PyAgent::cancel, "Ends the running turn (from another thread or an on_event callback).")
      .def_property_readonly("tools", &PyAgent::tool_names, "Names of the tools the model sees, in prompt order.");
}

}  // namespace alltools::python
