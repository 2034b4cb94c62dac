// Context budget: when the conversation nears the model's context, the oldest observations are shortened first,
// keeping the system prompt, every user message and the latest step intact.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/protocol/glm4/message.h"

namespace alltools::agent {

struct ShrinkStep {
  std::size_t index = 0;      // message shortened
  std::size_t removed_bytes = 0;
};

// Shortens the oldest observation that is not part of the newest `protect_tail` messages and is longer than
// `keep_bytes` (+ the note). Returns what it did, or nullopt when nothing is left to shorten.
std::optional<ShrinkStep> shrink_oldest_observation(std::vector<protocol::glm4::Message>& messages,
                                                    std::size_t protect_tail, std::size_t keep_bytes);

// Cuts `text` to at most `max_bytes` without splitting a UTF-8 character; returns the number of bytes removed.
std::size_t truncate_utf8(std::string& text, std::size_t max_bytes);

}  // namespace alltools::agent
