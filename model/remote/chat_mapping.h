// kChat mode: GLM-4 token stream -> OpenAI chat messages. The stream is split at role tokens (ids, never text, so a
// user who types "<|user|>" cannot forge a turn); each message is "{metadata}\n{content}".
//   <|system|>/<|user|>           -> {"role": "system"/"user", "content"}
//   <|assistant|> with metadata "" -> {"role": "assistant", "content"}
//   <|assistant|>{name}\n{body}    -> an assistant message with tool_calls [{id "call_<k>", name, arguments}]
//                                     (consecutive calls share one message)
//   <|observation|>{meta}\n{text}  -> {"role": "tool", "tool_call_id", "content"}, answering calls in order;
//                                     extra observations of one call are joined into its message
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/tokenizer.h"

namespace alltools::model::detail {

using BodyToArguments = std::function<std::string(std::string_view tool, std::string_view body)>;

nlohmann::json tokens_to_chat_messages(std::span<const TokenId> tokens, const Tokenizer& tokenizer,
                                       const BodyToArguments& body_to_arguments);

}  // namespace alltools::model::detail
