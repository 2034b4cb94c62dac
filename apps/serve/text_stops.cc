#include "apps/serve/text_stops.h"

#include <algorithm>

namespace alltools::serve {

TextStopper::TextStopper(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (const auto& s : stops_) hold_ = std::max(hold_, s.empty() ? 0 : s.size() - 1);
}

std::string TextStopper::push(std::string_view text) {
  if (stopped()) return {};
  pending_.append(text);
  std::size_t first = std::string::npos;
  for (std::size_t i = 0; i < stops_.size(); ++i) {
    if (stops_[i].empty()) continue;
    const std::size_t at = pending_.find(stops_[i]);
    if (at != std::string::npos && (first == std::string::npos || at < first)) {
      first = at;
      matched_ = static_cast<int>(i);
    }
  }
  if (first != std::string::npos) {
    std::string out = pending_.substr(0, first);
    pending_.clear();
    return out;
  }
  if (pending_.size() <= hold_) return {};
  std::size_t cut = pending_.size() - hold_;
  // Never split a UTF-8 character: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(pending_[cut]) & 0xC0) == 0x80) --cut;
  std::string out = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return out;
}

std::string TextStopper::finish() {
  std::string out;
  if (!stopped()) out.swap(pending_);
  pending_.clear();
  return out;
}

}  // namespace alltools::serve
