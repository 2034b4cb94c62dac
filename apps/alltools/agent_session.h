// One interactive or autonomous agent session as the CLI runs it: runtime + agent + renderer + transcript, and
// Ctrl-C wired to cancel the current step. Shared by `run` and `chat`.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "apps/alltools/render.h"
#include "apps/runtime/wiring.h"
#include "core/agent/agent.h"

namespace alltools::app {

// Exit codes of `run` (and of `chat` on a fatal error).
inline constexpr int kExitAnswer = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitLimit = 3;
inline constexpr int kExitCancelled = 130;

int exit_code_for(agent::TurnStatus status);

class AgentSession {
 public:
  // Builds everything; prints loading progress to stderr. `approver` may be empty (asks are refused).
  static Result<std::unique_ptr<AgentSession>> start(const AgentFlags& flags,
                                                     std::function<bool(const agent::ApprovalRequest&)> approver);
  ~AgentSession();

  agent::TurnResult turn(const std::string& text);
  Runtime& runtime() { return *runtime_; }
  agent::Agent& agent() { return *agent_; }
  // Prints the session folder to stderr (not in --json/--quiet mode).
  void print_session_note() const;

 private:
  AgentSession() = default;
  AgentFlags flags_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<EventRenderer> renderer_;
  std::unique_ptr<agent::Agent> agent_;
  bool transcript_error_reported_ = false;
};

// Asks on the terminal: "Allow NAME(args)? [y/N] ". Reads the answer from stdin. For `run` without -y.
bool ask_on_terminal(const agent::ApprovalRequest& request);

}  // namespace alltools::app
