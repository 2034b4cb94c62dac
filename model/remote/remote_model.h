// Remote backend: the LanguageModel interface over an OpenAI-compatible HTTP server (vLLM, SGLang, a hosted API).
//
// Two modes:
//  - kCompletion: POST {endpoint}/v1/completions with the rendered GLM-4 prompt (the cached token ids decoded to
//    text, special tokens as their strings) and stream text back (SSE). The streamed text is encoded back into ids,
//    so the agent loop, template and output parser work exactly as with a local model.
//  - kChat: POST {endpoint}/v1/chat/completions with `tools`. The cached GLM-4 token stream is split at its role
//    tokens into chat messages (tool calls become `tool_calls`, observations `tool` messages), and the reply is
//    written back as GLM-4 tokens: "\n{content}" for an answer, "{name}\n{body}<|observation|>" per tool call.
//    How a call body maps to function arguments is given by the caller (the app knows the tools).
//
// Both modes: retries with exponential backoff on 429 (honouring Retry-After), 5xx and dropped connections (a
// completion cut off mid-stream resumes from the text received so far), connect/idle/total timeouts, and errors
// that name the endpoint, the HTTP status and the server's message. Not thread-safe except CancelToken.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "model/language_model.h"
#include "model/tokenizer.h"

namespace alltools::model {

struct RemoteOptions {
  enum class Mode { kCompletion, kChat };
  std::string endpoint;   // base URL: "http://host:8000" or "http://host:8000/v1"
  std::string api_key;    // sent as "Authorization: Bearer ..." when non-empty
  std::string model;      // the server's model id ("model" field)
  Mode mode = Mode::kCompletion;
  int max_context = 131072;  // positions the server's model holds (bounds append())

  int max_attempts = 5;  // per request, the first try included
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{8000};
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};      // no byte received for this long
  std::chrono::milliseconds request_timeout{600000};  // one whole attempt

  // kChat only: the OpenAI "tools" array, and how call bodies map to and from function-call arguments (JSON text).
  // Defaults: the body is the arguments text and vice versa (right for user functions).
  nlohmann::json chat_tools = nlohmann::json::array();
  std::function<std::string(std::string_view tool, std::string_view body)> body_to_arguments;
  std::function<std::string(std::string_view tool, std::string_view arguments)> arguments_to_body;
};

// Errors: kInvalidArgument (no endpoint, bad URL scheme), nothing is contacted until generate().
Result<std::unique_ptr<LanguageModel>> make_remote_model(RemoteOptions options,
                                                         std::shared_ptr<const Tokenizer> tokenizer);

}  // namespace alltools::model
