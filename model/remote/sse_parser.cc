#include "model/remote/sse_parser.h"

namespace alltools::model::detail {

bool SseParser::line(std::string_view l, const OnData& on_data) {
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  if (l.empty()) {  // blank line: dispatch
    if (!has_data_) return true;
    has_data_ = false;
    std::string data = std::move(data_);
    data_.clear();
    return on_data(data);
  }
  if (l.front() == ':') return true;
  const size_t colon = l.find(':');
  const std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field != "data") return true;
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
  if (data_.size() > kMaxSseEventBytes) {
    overflowed_ = true;
    return false;
  }
  return true;
}

bool SseParser::feed(std::string_view bytes, const OnData& on_data) {
  if (overflowed_) return false;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(bytes);
      if (partial_.size() > kMaxSseEventBytes) {
        overflowed_ = true;
        return false;
      }
      return true;
    }
    bool go_on;
    if (partial_.empty()) {
      go_on = line(bytes.substr(0, nl), on_data);
    } else {
      partial_.append(bytes.substr(0, nl));
      const std::string whole = std::move(partial_);
      partial_.clear();
      go_on = line(whole, on_data);
    }
    if (!go_on) return false;
    bytes.remove_prefix(nl + 1);
  }
  return true;
}

}  // namespace alltools::model::detail
