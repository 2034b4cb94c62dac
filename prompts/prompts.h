// Prompt texts of GLM-4 All Tools, kept verbatim as files in prompts/ and embedded at build time
// (source: ../shared/docs/glm4-protocol.md §2 and §5). Views point at static storage and live forever.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace alltools::prompts {

// "你是一个名为 ChatGLM 的人工智能助手。…" — the default identity sentence of the tools system prompt.
std::string_view identity();

// The system-prompt text of a built-in tool ("python", "simple_browser", "cogview"); nullopt for other names.
std::optional<std::string_view> builtin_tool_text(std::string_view name);

// The names builtin_tool_text() knows, in the order the reference demo lists them.
std::span<const std::string_view> builtin_tool_names();

}  // namespace alltools::prompts
