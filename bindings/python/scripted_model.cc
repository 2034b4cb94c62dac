#include "bindings/python/scripted_model.h"

#include <algorithm>

namespace alltools::python {

ScriptedModel::ScriptedModel(const model::Tokenizer& tokenizer, std::vector<std::string> script)
    : tokenizer_(tokenizer), script_(std::move(script)) {
  info_.name = "scripted";
  info_.architecture = "scripted";
  info_.vocab_size = tokenizer.vocab_size();
  info_.max_context = 1 << 20;
}

Status ScriptedModel::append(std::span<const model::TokenId> tokens, const model::CancelToken* cancel) {
  if (cancel != nullptr && cancel->cancelled()) return make_error(ErrorCode::kCancelled, "append cancelled");
  if (cache_.size() + tokens.size() > static_cast<std::size_t>(info_.max_context)) {
    return make_error(ErrorCode::kOutOfRange, "scripted model context full");
  }
  cache_.insert(cache_.end(), tokens.begin(), tokens.end());
  return ok_status();
}

Status ScriptedModel::rewind(int length) {
  if (length < 0 || length > position()) {
    return make_error(ErrorCode::kOutOfRange, "rewind to " + std::to_string(length) + " past " + std::to_string(position()));
  }
  cache_.resize(static_cast<std::size_t>(length));
  return ok_status();
}

Result<model::GenerateResult> ScriptedModel::generate(const model::GenerateRequest& request,
                                                      const model::TokenCallback& on_token,
                                                      const model::CancelToken* cancel) {
  if (cache_.empty()) return make_error(ErrorCode::kInvalidArgument, "generate() on an empty cache");
  if (next_ >= script_.size()) {
    return make_error(ErrorCode::kOutOfRange, "the script has no output left (it has " + std::to_string(script_.size()) +
                                                  " entries)");
  }
  const std::string& text = script_[next_++];
  std::vector<model::TokenId> tokens = tokenizer_.encode_with_special(text);
  auto is_stop = [&](model::TokenId id) {
    return std::find(request.stop_ids.begin(), request.stop_ids.end(), id) != request.stop_ids.end();
  };
  if (tokens.empty() || !is_stop(tokens.back())) {
    const bool call = !text.empty() && text[0] != '\n';
    auto stop = tokenizer_.special_id(call ? "<|observation|>" : "<|user|>");
    if (!stop) return make_error(ErrorCode::kNotFound, "the tokenizer has no GLM-4 stop tokens");
    tokens.push_back(*stop);
  }
  model::GenerateResult result;
  for (model::TokenId id : tokens) {  // bounded by max_new_tokens
    if (static_cast<int>(result.tokens.size()) >= request.max_new_tokens) {
      result.finish = model::FinishReason::kMaxTokens;
      return result;
    }
    if (cancel != nullptr && cancel->cancelled()) {
      result.finish = model::FinishReason::kCancelled;
      return result;
    }
    cache_.push_back(id);
    result.tokens.push_back(id);
    if (on_token && !on_token(id)) {
      result.finish = model::FinishReason::kCancelled;
      return result;
    }
    if (is_stop(id)) {
      result.finish = model::FinishReason::kStopToken;
      return result;
    }
  }
  result.finish = model::FinishReason::kMaxTokens;
  return result;
}

}  // namespace alltools::python
