// Events: everything the agent loop does, as values. The CLI renders them, the session store writes them as JSONL
// (one event per line), and a server can stream them. Consumers get them synchronously on the loop's thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace alltools::agent {

enum class EventKind {
  kTurnStart,      // text = the user's message
  kToken,          // text = newly decoded text (complete UTF-8 only); never written to the transcript
  kSegmentStart,   // tool = "" for a plain answer, else the tool name the model addressed
  kSegmentEnd,     // text = the whole segment (answer text or call body)
  kToolCall,       // tool, data = {"args": ..., "step": n}
  kApproval,       // tool, data = {"approved": bool, "by": "policy"|"user"|"flag", "reason": ...}
  kObservation,    // tool, text = what the model sees, data = {"metadata", "is_error", "truncated_bytes"}
  kImage,          // tool, data = {"path", "mime", "url"} — a file produced for the user
  kAnswer,         // text = the final answer of the turn (citations unresolved)
  kError,          // text = what went wrong; data = {"code": error code name}
  kTiming,         // data = {"prefill_tokens", "prefill_seconds", "decode_tokens", "decode_seconds", "tool_seconds",
                   //         "header_choice" (the chosen tool-name line), "header_choice_scored" (names
                   //         that needed a forward pass), "header_choice_seconds",
                   //         "arg_constraint_seconds" (building the argument masks' vocabulary trie),
                   //         "arg_constraint_notes" (schema keywords it does not enforce)}
  kContextShrunk,  // text = what was shortened; data = {"freed_tokens", "messages"}
  kMessage,        // a message appended to the conversation: data = {"role", "metadata", "content"}; sessions
                   // restore the conversation from these
  kTurnEnd,        // data = {"status": "answer"|"error"|"cancelled"|"limit", "tool_calls", "seconds"}
  kReset,          // the conversation was cleared (/reset); sessions restore only what follows
  kProgress,       // tool, text = a progress line from a running tool (never shown to the model)
  kReasoning,      // text = newly decoded reasoning (GLM-4.5 <think>), only with AgentOptions::show_reasoning
};

std::string_view event_kind_name(EventKind kind);
Result<EventKind> parse_event_kind(std::string_view name);

struct Event {
  EventKind kind = EventKind::kError;
  std::string text;
  std::string tool;
  nlohmann::json data = nlohmann::json::object();
  double t = 0.0;  // seconds since the Unix epoch (wall clock), set by the loop
  friend bool operator==(const Event&, const Event&) = default;
};

nlohmann::json event_to_json(const Event& e);
Result<Event> event_from_json(const nlohmann::json& j);

using EventSink = std::function<void(const Event&)>;

}  // namespace alltools::agent
