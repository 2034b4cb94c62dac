// What an Agent may do and how: named limits, sampling, and the permission/approval hooks the app fills from its
// policy (core/ does not read policy files itself).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/protocol/format.h"
#include "core/protocol/glm4/chat_template.h"
#include "model/language_model.h"

namespace alltools::agent {

struct AgentLimits {
  int tool_calls_per_turn = 10;               // the GLM-4 reference demo's cap
  double turn_seconds = 900.0;                // wall time of one user turn
  double tool_call_seconds = 120.0;           // deadline of one tool call
  long tokens_per_turn = 16384;               // generated tokens per user turn
  long observation_bytes = 16384;             // longer observation texts are cut (UTF-8 safe) with a note
  int repeated_calls = 2;                     // identical calls allowed per turn before the detector answers
  int max_new_tokens_per_step = 2048;         // one generate() call
  int context_reserve_tokens = 512;           // room kept free for generation when fitting the context
  std::size_t shrunk_observation_bytes = 200; // what is left of an observation shortened for the context budget
};

enum class Permission { kAllow, kAsk, kDeny };

struct ApprovalRequest {
  std::string tool;
  nlohmann::json args;
  std::string body;  // the call as the model wrote it
};

struct AgentOptions {
  AgentLimits limits;
  model::SamplingParams sampling;
  // Constrained decoding of the header line after <|assistant|>: the model can only name tools it was given
  // (core/agent/tool_name_constraint.h). Local backends only; glm-4-9b-chat's prompt format only.
  bool constrain_tool_names = true;
  // Schema-constrained decoding of user-function arguments: the body after a function's header line is one JSON
  // object valid for its `parameters` (core/agent/argument_constraint.h). Same backends and format as above.
  bool constrain_arguments = true;
  protocol::glm4::TemplateOptions template_options;
  // The prompt format (core/protocol/format.h): GLM-4 (glm-4-9b-chat, GLM-4-0414) or GLM-4.5/4.6.
  protocol::Format format = protocol::Format::kGlm4;
  protocol::glm45::TemplateOptions glm45_template_options;
  // GLM-4.5 reasoning is streamed to the sink as kReasoning events when true, and not at all when false. Either
  // way it is never executed and is kept in the messages (the template drops it after the turn).
  bool show_reasoning = false;
  // Per tool name; unset = everything allowed.
  std::function<Permission(std::string_view tool)> permission;
  // Asked for kAsk tools; returns true to run the call. Unset = kAsk calls are refused (autonomous mode).
  std::function<bool(const ApprovalRequest&)> approver;
  std::filesystem::path session_dir;  // handed to tools (files, images)
};

}  // namespace alltools::agent
