#include "core/protocol/glm4/chat_template.h"

namespace alltools::protocol::glm4 {

RenderDelta IncrementalRenderer::update(std::span<const tools::ToolSpec> tools, std::span<const Message> messages,
                                        bool add_generation_prompt) {
  std::vector<TokenId> full = template_->prefix();
  if (tools.empty()) {
    tools_key_.clear();
    tools_ids_.clear();
  } else {
    std::string key = template_->tools_system_text(tools);
    if (key != tools_key_ || tools_ids_.empty()) {
      tools_ids_ = template_->render_tools(tools);
      tools_key_ = std::move(key);
    }
  }
  full.insert(full.end(), tools_ids_.begin(), tools_ids_.end());
  if (message_cache_.size() > messages.size()) message_cache_.resize(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i == message_cache_.size()) {
      message_cache_.push_back(MessageIds{messages[i], template_->render_message(messages[i])});
    } else if (!(message_cache_[i].message == messages[i])) {
      message_cache_[i] = MessageIds{messages[i], template_->render_message(messages[i])};
    }
    const auto& ids = message_cache_[i].ids;
    full.insert(full.end(), ids.begin(), ids.end());
  }
  if (add_generation_prompt) {
    const auto prompt = template_->generation_prompt();
    full.insert(full.end(), prompt.begin(), prompt.end());
  }
  return cached_.replace(std::move(full));
}

RenderDelta CachedTokens::replace(std::vector<TokenId> full) {
  std::size_t keep = 0;
  while (keep < full.size() && keep < ids_.size() && full[keep] == ids_[keep]) ++keep;
  RenderDelta delta;
  delta.keep = static_cast<int>(keep);
  delta.append.assign(full.begin() + static_cast<std::ptrdiff_t>(keep), full.end());
  ids_ = std::move(full);
  return delta;
}

void CachedTokens::rewind(int length) {
  ALLTOOLS_CHECK(length >= 0 && static_cast<std::size_t>(length) <= ids_.size());
  ids_.resize(static_cast<std::size_t>(length));
}

void IncrementalRenderer::append_generated(std::span<const TokenId> ids) { cached_.append(ids); }

void IncrementalRenderer::rewind(int length) { cached_.rewind(length); }

void IncrementalRenderer::reset() {
  cached_.clear();
  tools_key_.clear();
  tools_ids_.clear();
  message_cache_.clear();
}

}  // namespace alltools::protocol::glm4
