// The part of a page the model sees: the text cut to a token budget, and the `Visible: a% - b%` line.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace alltools::tools::browser::detail {

using TokenCounter = std::function<std::size_t(std::string_view)>;

// Estimate used when no tokenizer is plugged in: 1 token per 4 ASCII bytes, per 2 bytes of 2-byte characters,
// and per CJK (3- or 4-byte) character. Never 0 for non-empty text.
std::size_t estimate_tokens(std::string_view text);

struct PageView {
  std::string text;  // a prefix of the page, cut at a line (or UTF-8) boundary
  int visible_from = 0;  // percent
  int visible_to = 100;  // percent of the page's bytes shown
};

// Cuts `text` to at most `budget` tokens (counted with `count`, or estimate_tokens when empty).
PageView view_page(std::string_view text, std::size_t budget, const TokenCounter& count);

// "Visible: 0% - 37%"
std::string visible_line(const PageView& view);

}  // namespace alltools::tools::browser::detail
