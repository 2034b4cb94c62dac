#include "core/agent/dispatcher.h"

#include <condition_variable>
#include <mutex>

namespace alltools::agent {
namespace {

// Shared between the caller and the worker thread; outlives whichever finishes first.
struct CallState {
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  std::vector<tools::Observation> observations;
  std::atomic<bool> cancel{false};
};

// How often the waiting thread looks at the caller's cancel flag.
constexpr std::chrono::milliseconds kCancelPoll{10};

tools::Observation failure(const std::string& text) { return tools::error_observation(text); }

}  // namespace

Dispatcher::~Dispatcher() {
  for (std::thread& t : stuck_) t.join();
}

Status Dispatcher::add(std::unique_ptr<tools::Tool> tool) {
  ALLTOOLS_CHECK(tool != nullptr);
  const std::string name = tool->spec().name;
  if (name.empty()) return make_error(ErrorCode::kInvalidArgument, "a tool without a name cannot be registered");
  if (has(name)) return make_error(ErrorCode::kInvalidArgument, "tool '" + name + "' is already registered");
  order_.push_back(name);
  tools_.emplace(name, Entry{std::move(tool), false});
  return ok_status();
}

std::vector<tools::ToolSpec> Dispatcher::specs() const {
  std::vector<tools::ToolSpec> out;
  out.reserve(order_.size());
  for (const std::string& name : order_) out.push_back(tools_.find(name)->second.tool->spec());
  return out;
}

CallResult Dispatcher::call(std::string_view name, const nlohmann::json& args, const CallOptions& options) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  CallResult result;
  auto finish = [&](CallStatus status, std::vector<tools::Observation> obs) {
    result.status = status;
    result.observations = std::move(obs);
    if (result.observations.empty()) result.observations.push_back(tools::Observation{});
    result.seconds = std::chrono::duration<double>(clock::now() - start).count();
    return result;
  };

  auto it = tools_.find(name);
  if (it == tools_.end()) {
    std::string known;
    for (const std::string& n : order_) known += (known.empty() ? "" : ", ") + n;
    return finish(CallStatus::kUnknownTool,
                  {failure("There is no tool named '" + std::string(name) + "'. Available tools: " +
                           (known.empty() ? "none" : known) + ".")});
  }
  Entry& entry = it->second;
  if (entry.quarantined)
    return finish(CallStatus::kQuarantined,
                  {failure("Tool '" + std::string(name) +
                           "' stopped responding earlier in this session and is disabled.")});
  if (options.cancel != nullptr && options.cancel->load()) return finish(CallStatus::kCancelled, {failure("Cancelled.")});

  auto state = std::make_shared<CallState>();
  tools::ToolContext ctx;
  ctx.deadline = options.deadline;
  ctx.cancel = &state->cancel;
  ctx.session_dir = options.session_dir;
  ctx.progress = options.progress;
  tools::Tool* tool = entry.tool.get();
  std::thread worker([state, tool, args, ctx] {
    std::vector<tools::Observation> obs = tool->invoke(args, ctx);
    std::lock_guard<std::mutex> lock(state->mu);
    state->observations = std::move(obs);
    state->done = true;
    state->done_cv.notify_all();
  });

  CallStatus status = CallStatus::kOk;
  {
    std::unique_lock<std::mutex> lock(state->mu);
    while (!state->done) {
      if (options.cancel != nullptr && options.cancel->load()) {
        status = CallStatus::kCancelled;
        break;
      }
      if (clock::now() >= options.deadline) {
        status = CallStatus::kTimeout;
        break;
      }
      const auto wake = std::min(options.deadline, clock::now() + kCancelPoll);
      state->done_cv.wait_until(lock, wake);
    }
    if (status != CallStatus::kOk) {
      state->cancel.store(true);
      const auto grace_end = clock::now() + kCancelGrace;
      state->done_cv.wait_until(lock, grace_end, [&] { return state->done; });
    }
  }
  const bool returned = [&] {
    std::lock_guard<std::mutex> lock(state->mu);
    return state->done;
  }();
  if (returned) {
    worker.join();
  } else {
    entry.quarantined = true;
    stuck_.push_back(std::move(worker));
  }
  switch (status) {
    case CallStatus::kOk: return finish(CallStatus::kOk, std::move(state->observations));
    case CallStatus::kTimeout: {
      const double limit_s = std::chrono::duration<double>(options.deadline - start).count();
      return finish(CallStatus::kTimeout, {failure("Tool '" + std::string(name) + "' timed out after " +
                                                   std::to_string(static_cast<int>(limit_s + 0.5)) + " s.")});
    }
    default: return finish(CallStatus::kCancelled, {failure("Cancelled by the user.")});
  }
}

}  // namespace alltools::agent
