#include "core/protocol/glm4/citations.h"

#include <cstdlib>

namespace alltools::protocol::glm4 {
namespace {

constexpr std::string_view kOpen = "【", kDagger = "†", kClose = "】", kWideComma = "，";
constexpr int kMaxIds = 32;
constexpr long kMaxId = 1000000;

// "0, 2" / "1，4" / "3" -> ids; false if anything but numbers and separators is there.
bool parse_ids(std::string_view s, std::vector<int>& ids) {
  std::size_t i = 0;
  bool expect_number = true;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
    } else if (s[i] == ',' || s.substr(i, kWideComma.size()) == kWideComma) {
      if (expect_number) return false;  // ",3" or "3,,4"
      expect_number = true;
      i += s[i] == ',' ? 1 : kWideComma.size();
    } else if (s[i] >= '0' && s[i] <= '9') {
      if (!expect_number || static_cast<int>(ids.size()) >= kMaxIds) return false;  // "3 4" or too many
      long v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9' && v <= kMaxId) v = v * 10 + (s[i++] - '0');
      if (v > kMaxId) return false;
      ids.push_back(static_cast<int>(v));
      expect_number = false;
    } else {
      return false;
    }
  }
  return !ids.empty() && !expect_number;
}

}  // namespace

std::vector<Citation> find_citations(std::string_view text) {
  std::vector<Citation> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find(kOpen, pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find(kClose, open);
    if (close == std::string_view::npos) break;
    const std::size_t next_open = text.find(kOpen, open + kOpen.size());
    if (next_open != std::string_view::npos && next_open < close) {  // 【 … 【…】: the first one is not closed
      pos = next_open;
      continue;
    }
    const std::size_t dagger = text.find(kDagger, open);
    Citation c;
    if (dagger != std::string_view::npos && dagger < close &&
        parse_ids(text.substr(open + kOpen.size(), dagger - open - kOpen.size()), c.ids)) {
      std::string_view label = text.substr(dagger + kDagger.size(), close - dagger - kDagger.size());
      if (const std::size_t d2 = label.find(kDagger); d2 != std::string_view::npos) label = label.substr(0, d2);
      c.label = std::string(label);
      c.begin = open;
      c.end = close + kClose.size();
      out.push_back(std::move(c));
    }
    pos = close + kClose.size();
  }
  return out;
}

}  // namespace alltools::protocol::glm4
