// TextStopper: applies OpenAI `stop` sequences to streamed text. push() returns the text that is safe to send now;
// a tail that could be the start of a stop is held back until more text decides it. Once a stop matches, the
// text before it is returned and stopped() is true (the stop itself is never sent). What is returned is always
// whole UTF-8 characters when the input is. Not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace alltools::serve {

class TextStopper {
 public:
  explicit TextStopper(std::vector<std::string> stops);
  std::string push(std::string_view text);
  // End of stream: the held-back text (empty once stopped).
  std::string finish();
  bool stopped() const { return matched_ >= 0; }
  // The stop sequence that matched ("" if none).
  std::string matched() const { return matched_ >= 0 ? stops_[static_cast<std::size_t>(matched_)] : std::string(); }

 private:
  std::vector<std::string> stops_;
  std::size_t hold_ = 0;  // longest stop - 1
  std::string pending_;
  int matched_ = -1;
};

}  // namespace alltools::serve
