#include "prompts/prompts.h"

#include <array>
#include <cstddef>

namespace alltools::prompts {
namespace detail {
#define ALLTOOLS_DECLARE_PROMPT(name)              \
  extern const unsigned char kPrompt_##name[];     \
  extern const std::size_t kPromptSize_##name;
ALLTOOLS_DECLARE_PROMPT(identity)
ALLTOOLS_DECLARE_PROMPT(python)
ALLTOOLS_DECLARE_PROMPT(simple_browser)
ALLTOOLS_DECLARE_PROMPT(cogview)
#undef ALLTOOLS_DECLARE_PROMPT
}  // namespace detail

namespace {
std::string_view view(const unsigned char* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}
constexpr std::array<std::string_view, 3> kBuiltinNames = {"python", "simple_browser", "cogview"};
}  // namespace

std::string_view identity() { return view(detail::kPrompt_identity, detail::kPromptSize_identity); }

std::optional<std::string_view> builtin_tool_text(std::string_view name) {
  if (name == "python") return view(detail::kPrompt_python, detail::kPromptSize_python);
  if (name == "simple_browser") return view(detail::kPrompt_simple_browser, detail::kPromptSize_simple_browser);
  if (name == "cogview") return view(detail::kPrompt_cogview, detail::kPromptSize_cogview);
  return std::nullopt;
}

std::span<const std::string_view> builtin_tool_names() { return kBuiltinNames; }

}  // namespace alltools::prompts
