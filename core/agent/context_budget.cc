#include "core/agent/context_budget.h"

namespace alltools::agent {

using protocol::glm4::Message;
using protocol::glm4::Role;

std::size_t truncate_utf8(std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return 0;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  const std::size_t removed = text.size() - cut;
  text.resize(cut);
  return removed;
}

std::optional<ShrinkStep> shrink_oldest_observation(std::vector<Message>& messages, std::size_t protect_tail,
                                                    std::size_t keep_bytes) {
  const std::size_t end = messages.size() > protect_tail ? messages.size() - protect_tail : 0;
  const std::string note_prefix = "\n[… shortened to fit the context:";
  for (std::size_t i = 0; i < end; ++i) {
    Message& m = messages[i];
    if (m.role != Role::kObservation || m.content.size() <= keep_bytes + 64) continue;
    if (m.content.find(note_prefix) != std::string::npos) continue;  // already shortened
    const std::size_t removed = truncate_utf8(m.content, keep_bytes);
    m.content += note_prefix + " " + std::to_string(removed) + " bytes removed]";
    return ShrinkStep{i, removed};
  }
  return std::nullopt;
}

}  // namespace alltools::agent
