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
//    Another prompt format (GLM-4.5) plugs in its own mapping both ways: chat_messages and chat_reply_format.
//    A reply's reasoning (the "reasoning_content" or "reasoning" delta field of vLLM/SGLang reasoning parsers)
//    is handed to that format; GLM-4's layout has no place for it and drops it.
//
// Both modes: retries with exponential backoff on 429 (honouring Retry-After), 5xx and dropped connections (a
// completion cut off mid-stream resumes from the text received so far), connect/idle/total timeouts, and errors
// that name the endpoint, the HTTP status and the server's message. Not thread-safe except CancelToken.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "model/language_model.h"
#include "model/tokenizer.h"

namespace alltools::model {

// kChat, for a prompt format other than GLM-4's: how one streamed reply is written into the token stream, as
// text (encoded with special tokens). Made fresh per reply by RemoteOptions::chat_reply_format; each piece returns
// the text to append, in this order: reasoning deltas, content deltas, then each tool call, then end() (before
// the stop token RemoteModel adds: <|observation|> after calls, else <|user|>).
struct ChatReplyFormat {
  std::function<std::string(std::string_view delta)> reasoning;
  std::function<std::string(std::string_view delta)> content;
  std::function<std::string(std::string_view name, std::string_view arguments)> tool_call;
  std::function<std::string()> end;
};

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
  // kChat, another prompt format: the cached tokens -> OpenAI "messages" (replaces the GLM-4 mapping and
  // body_to_arguments), and the writer of replies (replaces the GLM-4 layout and arguments_to_body). Both or neither.
  std::function<nlohmann::json(std::span<const TokenId> tokens)> chat_messages;
  std::function<ChatReplyFormat()> chat_reply_format;
};

// Errors: kInvalidArgument (no endpoint, bad URL scheme), nothing is contacted until generate().
Result<std::unique_ptr<LanguageModel>> make_remote_model(RemoteOptions options,
                                                         std::shared_ptr<const Tokenizer> tokenizer);

}  // namespace alltools::model
