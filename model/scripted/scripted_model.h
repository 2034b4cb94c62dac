// ScriptedModel: a LanguageModel that speaks the real interface (KV-cache positions, append/rewind, stop ids,
// max_new_tokens, context limit, callbacks, cancellation) but, instead of computing logits, answers the k-th
// generate() with the k-th reply of a script, encoded by the real tokenizer with special tokens written as their
// strings ("python\nprint(1)<|observation|>"). Each reply is what the model writes after <|assistant|>:
// "get_weather\n{...}" (a call) or "\nanswer". For trying agents and functions without weights
// (alltools.Agent(script=[...])), the agent loop's tests and its benchmark. It records what it was shown.
//
// Thread-safety: as LanguageModel; the tokenizer must outlive the model.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "model/language_model.h"
#include "model/tokenizer.h"

namespace alltools::model {

struct ScriptedModelOptions {
  int max_context = 1 << 20;
  // A reply that does not end in one of the request's stop ids gets <|observation|> (a call) or <|user|> (an
  // answer, i.e. a reply starting with '\n') appended. Off: such a reply ends like a cut-off (kMaxTokens).
  bool add_stop = false;
};

class ScriptedModel final : public LanguageModel {
 public:
  ScriptedModel(const Tokenizer& tokenizer, std::vector<std::string> replies, ScriptedModelOptions options = {});

  const ModelInfo& info() const override { return info_; }
  int position() const override { return static_cast<int>(cache_.size()); }
  Status append(std::span<const TokenId> tokens, const CancelToken* cancel) override;
  Status rewind(int length) override;
  // Errors: kInvalidArgument on an empty cache, kOutOfRange when the script has no reply left.
  Result<GenerateResult> generate(const GenerateRequest& request, const TokenCallback& on_token,
                                  const CancelToken* cancel) override;

  // The cache as text (special tokens as strings), and as ids.
  std::string cache_text() const { return tokenizer_.decode_bytes(cache_); }
  const std::vector<TokenId>& cache() const { return cache_; }
  // generate() calls so far (= replies used), tokens appended, rewinds.
  int generate_calls() const { return next_; }
  int total_appended() const { return appended_; }
  int rewinds() const { return rewinds_; }
  // The cache text at each generate() call.
  const std::vector<std::string>& prompts() const { return prompts_; }
  // Sleeps this long before each token (to test cancellation mid-generation).
  void set_token_delay(std::chrono::milliseconds delay) { token_delay_ = delay; }

 private:
  const Tokenizer& tokenizer_;
  std::vector<std::string> replies_;
  ScriptedModelOptions options_;
  ModelInfo info_;
  std::vector<TokenId> cache_;
  std::vector<std::string> prompts_;
  int next_ = 0;
  int appended_ = 0;
  int rewinds_ = 0;
  std::chrono::milliseconds token_delay_{0};
};

}  // namespace alltools::model
