// Dispatcher: the registry of tools a session may call (built-ins and user functions, registered by the app) and
// the one place tool calls run: with a deadline, cancellation, and bounded output. core/ sees only tools::Tool.
//
// Each call runs on a worker thread; the caller's thread waits for it, the deadline or cancellation. When the
// deadline passes or the caller cancels, the tool's ToolContext::cancel flag is raised and the tool gets
// kCancelGrace to return; a tool that ignores it is quarantined (never called again in this session) and its
// thread is joined when the Dispatcher is destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "tools/tool.h"

namespace alltools::agent {

inline constexpr std::chrono::milliseconds kCancelGrace{2000};

struct CallOptions {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  const std::atomic<bool>* cancel = nullptr;  // the caller's cancel flag (e.g. set by Ctrl-C)
  std::filesystem::path session_dir;
  std::function<void(const std::string&)> progress;
};

enum class CallStatus { kOk, kUnknownTool, kTimeout, kCancelled, kQuarantined };

struct CallResult {
  CallStatus status = CallStatus::kOk;
  std::vector<tools::Observation> observations;  // never empty: failures are error observations
  double seconds = 0.0;
};

class Dispatcher {
 public:
  Dispatcher() = default;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;
  ~Dispatcher();

  // Errors: kInvalidArgument when a tool with that name is already registered or the name is empty.
  Status add(std::unique_ptr<tools::Tool> tool);
  bool has(std::string_view name) const { return tools_.count(std::string(name)) != 0; }
  // Specs in registration order (the order tools appear in the system prompt).
  std::vector<tools::ToolSpec> specs() const;

  // Invokes a tool by name. Unknown names, timeouts and cancellation come back as error observations.
  CallResult call(std::string_view name, const nlohmann::json& args, const CallOptions& options);

 private:
  struct Entry {
    std::unique_ptr<tools::Tool> tool;
    bool quarantined = false;
  };
  std::map<std::string, Entry, std::less<>> tools_;
  std::vector<std::string> order_;
  std::vector<std::thread> stuck_;  // threads of quarantined calls, joined on destruction
};

}  // namespace alltools::agent
