#include "model/scripted/scripted_model.h"

#include <algorithm>
#include <thread>

namespace alltools::model {

ScriptedModel::ScriptedModel(const Tokenizer& tokenizer, std::vector<std::string> replies,
                             ScriptedModelOptions options)
    : tokenizer_(tokenizer), replies_(std::move(replies)), options_(options) {
  info_.name = "scripted";
  info_.architecture = "scripted";
  info_.vocab_size = tokenizer.vocab_size();
  info_.max_context = options.max_context;
}

Status ScriptedModel::append(std::span<const TokenId> tokens, const CancelToken* cancel) {
  if (cancel != nullptr && cancel->cancelled()) return make_error(ErrorCode::kCancelled, "append cancelled");
  if (cache_.size() + tokens.size() > static_cast<std::size_t>(info_.max_context)) {
    return make_error(ErrorCode::kOutOfRange, "scripted model: context of " + std::to_string(info_.max_context) +
                                                  " exceeded by append of " + std::to_string(tokens.size()));
  }
  cache_.insert(cache_.end(), tokens.begin(), tokens.end());
  appended_ += static_cast<int>(tokens.size());
  return ok_status();
}

Status ScriptedModel::rewind(int length) {
  if (length < 0 || length > position()) {
    return make_error(ErrorCode::kOutOfRange,
                      "rewind to " + std::to_string(length) + " tokens: the cache holds " + std::to_string(position()));
  }
  cache_.resize(static_cast<std::size_t>(length));
  ++rewinds_;
  return ok_status();
}

Result<GenerateResult> ScriptedModel::generate(const GenerateRequest& request, const TokenCallback& on_token,
                                               const CancelToken* cancel) {
  if (cache_.empty()) return make_error(ErrorCode::kInvalidArgument, "generate() on an empty cache");
  if (next_ >= static_cast<int>(replies_.size())) {
    return make_error(ErrorCode::kOutOfRange,
                      "scripted model: the script has no reply left (it has " + std::to_string(replies_.size()) + ")");
  }
  prompts_.push_back(cache_text());
  const std::string& text = replies_[static_cast<std::size_t>(next_++)];
  std::vector<TokenId> tokens = tokenizer_.encode_with_special(text);
  const auto is_stop = [&](TokenId id) {
    return std::find(request.stop_ids.begin(), request.stop_ids.end(), id) != request.stop_ids.end();
  };
  if (options_.add_stop && (tokens.empty() || !is_stop(tokens.back()))) {
    const bool call = !text.empty() && text[0] != '\n';
    auto stop = tokenizer_.special_id(call ? "<|observation|>" : "<|user|>");
    if (!stop) return make_error(ErrorCode::kNotFound, "the tokenizer has no GLM-4 stop tokens");
    tokens.push_back(*stop);
  }
  GenerateResult result;
  for (TokenId id : tokens) {  // bounded by the reply's length
    if (cancel != nullptr && cancel->cancelled()) {
      result.finish = FinishReason::kCancelled;
      return result;
    }
    if (static_cast<int>(result.tokens.size()) >= request.max_new_tokens) {
      result.finish = FinishReason::kMaxTokens;
      return result;
    }
    if (cache_.size() >= static_cast<std::size_t>(info_.max_context)) {
      result.finish = FinishReason::kContextFull;
      return result;
    }
    if (token_delay_.count() > 0) std::this_thread::sleep_for(token_delay_);
    cache_.push_back(id);
    result.tokens.push_back(id);
    ++result.timings.decode_tokens;
    if (on_token && !on_token(id)) {
      result.finish = FinishReason::kCancelled;
      return result;
    }
    if (is_stop(id)) {
      result.finish = FinishReason::kStopToken;
      return result;
    }
  }
  result.finish = FinishReason::kMaxTokens;  // a reply without a stop token behaves like a cut-off
  return result;
}

}  // namespace alltools::model
