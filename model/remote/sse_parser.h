// Incremental parser for Server-Sent Events (text/event-stream) as OpenAI-compatible servers send them.
// feed() takes bytes as they arrive, in any split; complete events come out through the callback. Only the "data"
// field matters here (multi-line data joined with '\n'); comments (':') and other fields are ignored.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace alltools::model::detail {

inline constexpr size_t kMaxSseEventBytes = 8u << 20;

class SseParser {
 public:
  // Returns false to stop parsing (the rest of the feed is dropped).
  using OnData = std::function<bool(std::string_view data)>;

  // Returns false when the callback asked to stop or an event grew past kMaxSseEventBytes (overflowed()).
  bool feed(std::string_view bytes, const OnData& on_data);
  bool overflowed() const { return overflowed_; }

 private:
  bool line(std::string_view l, const OnData& on_data);
  std::string partial_;  // bytes of an unfinished line
  std::string data_;     // data of the event being built
  bool has_data_ = false;
  bool overflowed_ = false;
};

}  // namespace alltools::model::detail
