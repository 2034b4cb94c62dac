// Agent: the GLM-4 All Tools loop for one conversation.
//
// One user turn: the user's message is appended → the template renders only what is new (IncrementalRenderer) →
// the model appends it to its KV cache → tokens stream out and are decoded incrementally and parsed into segments
// → each finished tool call goes through permission (policy) → approval → the Dispatcher (with a deadline) → its
// observations are appended → the model continues, until a plain answer or a named limit (tool calls per turn,
// wall time, tokens, repeated calls, context). Every step emits Events. Errors in calls never end the turn: they
// become observations the model can act on.
//
// Threading: run_turn() runs on one thread; cancel() may be called from any thread or a signal handler and ends
// the current turn (not the conversation) as kCancelled.
#pragma once

#include <atomic>
#include <optional>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "core/agent/agent_options.h"
#include "core/agent/argument_constraint.h"
#include "core/agent/tool_name_constraint.h"
#include "core/agent/dispatcher.h"
#include "core/agent/events.h"
#include "core/protocol/format.h"
#include "core/protocol/glm4/chat_template.h"
#include "core/protocol/glm4/message.h"
#include "model/language_model.h"
#include "model/tokenizer.h"

namespace alltools::agent {

enum class TurnStatus { kAnswer, kLimit, kCancelled, kError };
std::string_view turn_status_name(TurnStatus status);

struct TurnResult {
  TurnStatus status = TurnStatus::kError;
  std::string answer;                       // the final plain answer (kAnswer), citations unresolved
  std::string reason;                       // why the turn ended otherwise
  int tool_calls = 0;
  std::vector<tools::Artifact> artifacts;   // files produced for the user during the turn
  double seconds = 0.0;
};

// The conversation messages recorded by kMessage events (after the last kReset), for resuming a session.
std::vector<protocol::glm4::Message> messages_from_events(const std::vector<Event>& events);

class Agent {
 public:
  // model, tokenizer and dispatcher must outlive the Agent. Errors: the tokenizer lacks the special tokens of
  // options.format.
  static Result<std::unique_ptr<Agent>> create(model::LanguageModel& model, const model::Tokenizer& tokenizer,
                                               Dispatcher& dispatcher, AgentOptions options, EventSink sink);
  ~Agent();

  // Runs one user turn to its end. Never throws; model failures end the turn as kError.
  TurnResult run_turn(std::string_view user_text);

  // Continues the conversation as it stands, without a new user message: if it ends with a tool call that has no
  // observation (e.g. restored from a session cut off mid-call), that call runs first (policy, approval, repeat
  // detector, limits as in run_turn); then the model generates until an answer or a limit.
  TurnResult continue_turn();
  // Thread- and signal-safe: ends the current turn (generation and a running tool call) as kCancelled.
  void cancel();

  // Replaces the conversation (e.g. restored from a session); the model's cache is re-synchronised lazily.
  void restore(std::vector<protocol::glm4::Message> messages);
  // Clears the conversation (emits kReset).
  void reset();

  const std::vector<protocol::glm4::Message>& messages() const { return messages_; }
  std::vector<tools::ToolSpec> tool_specs() const { return specs_; }

 private:
  Agent(model::LanguageModel& model, const model::Tokenizer& tokenizer, Dispatcher& dispatcher,
        AgentOptions options, EventSink sink, std::unique_ptr<protocol::FormatProfile> profile);

  struct Turn;
  void emit(Event e);
  void push_message(protocol::glm4::Message m);
  TurnResult run(std::optional<std::string> user_text);  // user_text empty: continue_turn
  Status sync_model(Turn& turn);
  Result<std::vector<protocol::glm4::Message>> generate_step(Turn& turn);
  void run_tool_call(Turn& turn, const protocol::glm4::Message& call);
  void append_observation(Turn& turn, const std::string& tool, tools::Observation obs);

  model::LanguageModel& model_;
  const model::Tokenizer& tokenizer_;
  Dispatcher& dispatcher_;
  AgentOptions options_;
  EventSink sink_;
  std::unique_ptr<protocol::FormatProfile> profile_;
  std::unique_ptr<protocol::PromptRenderer> renderer_;  // uses profile_
  std::vector<tools::ToolSpec> specs_;
  std::optional<ToolNameConstraint> tool_names_;  // built on the first generate step when enabled
  std::unique_ptr<ArgumentConstraint> arguments_;  // likewise, when a user function is on offer
  std::vector<protocol::glm4::Message> messages_;
  model::CancelToken model_cancel_;
  std::atomic<bool> tool_cancel_{false};
};

}  // namespace alltools::agent
