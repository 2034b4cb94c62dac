// The requests `alltools serve` accepts, parsed and validated into value types before anything runs. Every field
// is checked for type and range; errors name the field (OpenAI's `param`, e.g. "messages[2].tool_calls[0].id").
// Unknown top-level fields are ignored (clients send vendor extras); known ones of the wrong type are errors.
// Pure functions: no effect on failure; fuzzed by fuzz/serve_request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/serve/api_error.h"
#include "tools/tool.h"

namespace alltools::serve {

// Named limits on what one request may hold.
inline constexpr int kMaxJsonDepth = 64;
inline constexpr std::size_t kMaxMessages = 4096;
inline constexpr std::size_t kMaxTools = 128;
inline constexpr std::size_t kMaxStops = 4;
inline constexpr std::size_t kMaxStopBytes = 256;
inline constexpr int kMaxTokensLimit = 1 << 20;

template <class T>
using Parsed = std::variant<T, ApiError>;

// The body as JSON: must be an object, nested at most kMaxJsonDepth deep.
Parsed<nlohmann::json> parse_json_body(std::string_view body);

// Sampling and stopping, shared by the endpoints. Defaults follow OpenAI's API.
struct GenerationParams {
  int max_tokens = 0;          // 0: until a stop, the server's cap or the context's end
  float temperature = 1.0f;    // 0 = greedy
  float top_p = 1.0f;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> stop;  // text stops (a stop that is a special token's string stops on that token)
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with usage
};

struct ChatToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as OpenAI sends it
  friend bool operator==(const ChatToolCall&, const ChatToolCall&) = default;
};

enum class ChatRole { kSystem, kUser, kAssistant, kTool };

struct ChatMessage {
  ChatRole role = ChatRole::kUser;
  std::string content;                    // text parts joined; "" for null
  std::vector<ChatToolCall> tool_calls;   // assistant only
  std::string tool_call_id;               // tool only
  friend bool operator==(const ChatMessage&, const ChatMessage&) = default;
};

struct ToolChoice {
  enum class Kind { kAuto, kNone, kRequired, kNamed };
  Kind kind = Kind::kAuto;
  std::string name;  // kNamed
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::vector<tools::ToolSpec> tools;  // functions, as GLM-4 function tools ({name, description, parameters})
  ToolChoice tool_choice;
  GenerationParams gen;
};

struct CompletionRequest {
  std::string model;
  std::string prompt;  // raw text; special-token strings in it are special tokens (as vLLM does for GLM-4)
  GenerationParams gen;
  bool skip_special_tokens = true;  // false: generated special tokens appear in the text as their strings
};

// POST /v1/alltools/runs: one All Tools turn run by the server (its python, simple_browser and cogview tools).
struct RunRequest {
  std::string model;
  std::string input;                 // the user's task
  std::vector<ChatMessage> messages; // optional earlier conversation (system/user/assistant answers)
  bool stream = true;                // SSE events; false: one JSON object at the end
  float temperature = 0.0f;
  int max_tokens = 0;                // per model step; 0 = the policy's default
};

Parsed<ChatRequest> parse_chat_request(const nlohmann::json& body);
Parsed<CompletionRequest> parse_completion_request(const nlohmann::json& body);
Parsed<RunRequest> parse_run_request(const nlohmann::json& body);

}  // namespace alltools::serve
