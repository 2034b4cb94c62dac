#include "tools/browser/page_view.h"

#include <algorithm>

namespace alltools::tools::browser::detail {
namespace {

// Average bytes per token is far below this, so the budget never needs a longer prefix to be counted.
constexpr std::size_t kMaxBytesPerToken = 16;

std::size_t utf8_boundary(std::string_view s, std::size_t n) {
  n = std::min(n, s.size());
  while (n > 0 && n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

std::size_t estimate_tokens(std::string_view text) {
  std::size_t quarter_tokens = 0;  // in units of 1/4 token
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      quarter_tokens += 1;
      i += 1;
    } else if (c < 0xE0) {
      quarter_tokens += 2;
      i += 2;
    } else if (c < 0xF0) {
      quarter_tokens += 4;
      i += 3;
    } else {
      quarter_tokens += 4;
      i += 4;
    }
  }
  return (quarter_tokens + 3) / 4;
}

PageView view_page(std::string_view text, std::size_t budget, const TokenCounter& count) {
  auto tokens = [&](std::string_view s) { return count ? count(s) : estimate_tokens(s); };
  PageView v;
  const std::size_t window = utf8_boundary(text, budget * kMaxBytesPerToken);
  if (window >= text.size() && tokens(text) <= budget) {
    v.text = std::string(text);
    return v;
  }
  // Largest prefix within budget: binary search over byte lengths (O(log n) counter calls on <= window bytes).
  std::size_t lo = 0;
  std::size_t hi = window;
  while (lo < hi) {
    const std::size_t mid = utf8_boundary(text, lo + (hi - lo + 1) / 2);
    if (mid <= lo) break;
    if (tokens(text.substr(0, mid)) <= budget) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  std::size_t cut = utf8_boundary(text, lo);
  // Prefer ending at a line break if one is in the last fifth.
  const std::size_t nl = text.substr(0, cut).rfind('\n');
  if (nl != std::string_view::npos && nl > cut - cut / 5) cut = nl;
  v.text = std::string(text.substr(0, cut));
  while (!v.text.empty() && (v.text.back() == '\n' || v.text.back() == ' ')) v.text.pop_back();
  v.visible_to = text.empty() ? 100 : static_cast<int>((cut * 100) / text.size());
  return v;
}

std::string visible_line(const PageView& view) {
  return "Visible: " + std::to_string(view.visible_from) + "% - " + std::to_string(view.visible_to) + "%";
}

}  // namespace alltools::tools::browser::detail
