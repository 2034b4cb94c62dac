// ScriptedModel: a test double for model::LanguageModel that speaks the real interface (KV-cache positions,
// append/rewind, stop ids, max_new_tokens, callbacks, cancellation) but, instead of computing logits, emits a
// fixed script: reply k is the text of the k-th generate() call, with special tokens written as their strings
// ("python\nprint(1)<|observation|>"), encoded by the real GLM-4 tokenizer.
// It records the token cache so tests can check exactly what the loop rendered for the model.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "model/language_model.h"
#include "model/tokenizer.h"

namespace alltools::testing {

class ScriptedModel final : public model::LanguageModel {
 public:
  ScriptedModel(const model::Tokenizer& tokenizer, std::vector<std::string> replies, int max_context = 131072);

  const model::ModelInfo& info() const override { return info_; }
  int position() const override { return static_cast<int>(cache_.size()); }
  Status append(std::span<const model::TokenId> tokens, const model::CancelToken* cancel) override;
  Status rewind(int length) override;
  Result<model::GenerateResult> generate(const model::GenerateRequest& request, const model::TokenCallback& on_token,
                                         const model::CancelToken* cancel) override;

  // The cache as text (special tokens as strings).
  std::string cache_text() const { return tokenizer_.decode_bytes(cache_); }
  const std::vector<model::TokenId>& cache() const { return cache_; }
  int generate_calls() const { return next_; }
  int total_appended() const { return appended_; }
  int rewinds() const { return rewinds_; }
  // The cache text at each generate() call.
  const std::vector<std::string>& prompts() const { return prompts_; }
  // Sleeps this long before each token (to test cancellation mid-generation).
  std::chrono::milliseconds token_delay{0};

 private:
  const model::Tokenizer& tokenizer_;
  std::vector<std::string> replies_;
  model::ModelInfo info_;
  std::vector<model::TokenId> cache_;
  std::vector<std::string> prompts_;
  int next_ = 0;
  int appended_ = 0;
  int rewinds_ = 0;
};

}  // namespace alltools::testing
