// POST /v1/alltools/runs: one All Tools turn run by the server. The model's tool calls (python, simple_browser,
// cogview) execute in the run's own workspace; every agent event is streamed as an SSE `data:` line (the JSON of
// core/agent/events.h, "event" names the kind), then a result object and `data: [DONE]`.
#include <httplib.h>

#include "apps/serve/openai_request.h"
#include "apps/serve/server.h"
#include "core/agent/agent.h"

namespace alltools::serve {
namespace {

using nlohmann::json;

struct RunJob {
  std::shared_ptr<void> flight;  // Server::track_request(); released last
  explicit RunJob(std::atomic<int>& counter) : active(counter) { active.fetch_add(1); }
  ~RunJob() {
    agent.reset();      // before the sequence and the tools it uses
    workspace.reset();  // stops the sandbox, removes the folder
    seq.reset();
    active.fetch_sub(1);
  }
  std::atomic<int>& active;
  std::optional<ApiKeys::Slot> slot;
  std::unique_ptr<model::LanguageModel> seq;
  std::unique_ptr<RunWorkspace> workspace;
  std::unique_ptr<agent::Agent> agent;
  RunRequest request;
  std::function<void(const agent::Event&)> on_event;
  std::string id;
};

json result_json(const RunJob& job, const agent::TurnResult& r) {
  json artifacts = json::array();
  for (const auto& a : r.artifacts) artifacts.push_back(a.path.filename().string());
  return {{"id", job.id},
          {"object", "alltools.run"},
          {"status", agent::turn_status_name(r.status)},
          {"answer", r.answer},
          {"reason", r.reason},
          {"tool_calls", r.tool_calls},
          {"artifacts", artifacts},
          {"seconds", r.seconds}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

void Server::handle_run(const httplib::Request& req, httplib::Response& res) {
  if (!backend_.new_workspace)
    return send_error(res, ApiError{404, "server-side runs are not enabled on this server", "invalid_request_error",
                                    "", "not_found", 0});
  auto job = std::make_shared<RunJob>(runs_active_);
  job->flight = track_request();
  std::optional<json> body = open_request(req, res, &job->slot);
  if (!body) return;
  auto parsed = parse_run_request(*body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  job->request = std::move(std::get<RunRequest>(parsed));
  auto seq = admit({});
  if (auto* e = std::get_if<ApiError>(&seq)) return send_error(res, *e);
  job->seq = std::move(std::get<0>(seq));
  auto ws = backend_.new_workspace();
  if (!ws.ok())
    return send_error(res, ApiError{503, "cannot set up the run's workspace: " + ws.error().message, "server_error",
                                    "", "", 2});
  job->workspace = std::move(ws).value();
  job->id = "run_" + job->workspace->dir().filename().string().substr(4);

  agent::AgentOptions options = backend_.run_options;
  options.session_dir = job->workspace->dir();
  options.sampling.temperature = job->request.temperature;
  if (job->request.max_tokens > 0) options.limits.max_new_tokens_per_step = job->request.max_tokens;
  options.approver = nullptr;  // calls the policy marks `ask` are refused: nobody is there to approve them
  RunJob* raw = job.get();
  auto created = agent::Agent::create(*job->seq, *backend_.tokenizer, job->workspace->dispatcher(), options,
                                      [raw](const agent::Event& e) {
                                        if (raw->on_event) raw->on_event(e);
                                      });
  if (!created.ok())
    return send_error(res, ApiError{500, "cannot start the agent: " + created.error().message, "server_error", "", "", 0});
  job->agent = std::move(created).value();
  if (!job->request.messages.empty()) {
    std::vector<protocol::glm4::Message> earlier;
    for (const ChatMessage& m : job->request.messages) {
      if (m.role == ChatRole::kSystem) earlier.push_back(protocol::glm4::system_message(m.content));
      else if (m.role == ChatRole::kUser) earlier.push_back(protocol::glm4::user_message(m.content));
      else earlier.push_back(protocol::glm4::assistant_answer(m.content));
    }
    job->agent->restore(std::move(earlier));
  }

  if (!job->request.stream) {
    json events = json::array();
    job->on_event = [&events](const agent::Event& e) {
      if (e.kind != agent::EventKind::kToken) events.push_back(agent::event_to_json(e));
    };
    agent::TurnResult r = job->agent->run_turn(job->request.input);
    json out = result_json(*job, r);
    out["events"] = std::move(events);
    job->on_event = nullptr;
    res.set_content(dump(out), "application/json");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream", [job](std::size_t, httplib::DataSink& sink) {
    bool gone = false;
    auto send = [&](const std::string& data) {
      if (gone) return false;
      const std::string frame = "data: " + data + "\n\n";
      if (!sink.write(frame.data(), frame.size())) gone = true;
      return !gone;
    };
    job->on_event = [&](const agent::Event& e) {
      if (!send(dump(agent::event_to_json(e)))) job->agent->cancel();  // client gone: end the turn now
    };
    agent::TurnResult r = job->agent->run_turn(job->request.input);
    job->on_event = nullptr;
    if (gone) return false;
    send(dump(result_json(*job, r)));
    if (!send("[DONE]")) return false;
    sink.done();
    return true;
  });
}

}  // namespace alltools::serve
