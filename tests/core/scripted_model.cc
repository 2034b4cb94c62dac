#include "tests/core/scripted_model.h"

#include <algorithm>
#include <thread>

namespace alltools::testing {

ScriptedModel::ScriptedModel(const model::Tokenizer& tokenizer, std::vector<std::string> replies, int max_context)
    : tokenizer_(tokenizer), replies_(std::move(replies)) {
  info_.name = "scripted";
  info_.architecture = "scripted";
  info_.vocab_size = tokenizer.vocab_size();
  info_.max_context = max_context;
}

Status ScriptedModel::append(std::span<const model::TokenId> tokens, const model::CancelToken* cancel) {
  if (cancel != nullptr && cancel->cancelled()) return make_error(ErrorCode::kCancelled, "append cancelled");
  if (cache_.size() + tokens.size() > static_cast<size_t>(info_.max_context))
    return make_error(ErrorCode::kOutOfRange, "scripted model: context of " + std::to_string(info_.max_context) +
                                                  " exceeded by append of " + std::to_string(tokens.size()));
  cache_.insert(cache_.end(), tokens.begin(), tokens.end());
  appended_ += static_cast<int>(tokens.size());
  return ok_status();
}

Status ScriptedModel::rewind(int length) {
  if (length < 0 || length > position()) return make_error(ErrorCode::kOutOfRange, "rewind beyond position");
  cache_.resize(static_cast<size_t>(length));
  ++rewinds_;
  return ok_status();
}

Result<model::GenerateResult> ScriptedModel::generate(const model::GenerateRequest& request,
                                                      const model::TokenCallback& on_token,
                                                      const model::CancelToken* cancel) {
  if (cache_.empty()) return make_error(ErrorCode::kInvalidArgument, "generate on an empty cache");
  if (next_ >= static_cast<int>(replies_.size()))
    return make_error(ErrorCode::kOutOfRange,
                      "scripted model: script exhausted after " + std::to_string(replies_.size()) + " replies");
  prompts_.push_back(cache_text());
  const std::vector<model::TokenId> script = tokenizer_.encode_with_special(replies_[next_++]);
  model::GenerateResult result;
  for (model::TokenId id : script) {
    if (cancel != nullptr && cancel->cancelled()) {
      result.finish = model::FinishReason::kCancelled;
      return result;
    }
    if (static_cast<int>(result.tokens.size()) >= request.max_new_tokens) {
      result.finish = model::FinishReason::kMaxTokens;
      return result;
    }
    if (cache_.size() >= static_cast<size_t>(info_.max_context)) {
      result.finish = model::FinishReason::kContextFull;
      return result;
    }
    if (token_delay.count() > 0) std::this_thread::sleep_for(token_delay);
    cache_.push_back(id);
    result.tokens.push_back(id);
    ++result.timings.decode_tokens;
    if (on_token && !on_token(id)) {
      result.finish = model::FinishReason::kCancelled;
      return result;
    }
    if (std::find(request.stop_ids.begin(), request.stop_ids.end(), id) != request.stop_ids.end()) {
      result.finish = model::FinishReason::kStopToken;
      return result;
    }
  }
  result.finish = model::FinishReason::kMaxTokens;  // a script without a stop token behaves like a cut-off
  return result;
}

}  // namespace alltools::testing
