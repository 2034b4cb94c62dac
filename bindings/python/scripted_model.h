// ScriptedModel: a LanguageModel that answers each generate() with the next text of a script, tokenized with the
// real GLM-4 tokenizer. For trying agents and functions without weights (alltools.Agent(script=[...])) and for
// tests. Each text is what the model writes after <|assistant|>: "get_weather\n{...}" (a call) or "\nanswer".
// A text not ending in a stop token gets <|observation|> (call) or <|user|> (answer) appended.
#pragma once

#include <string>
#include <vector>

#include "model/language_model.h"
#include "model/tokenizer.h"

namespace alltools::python {

class ScriptedModel final : public model::LanguageModel {
 public:
  // The tokenizer must outlive the model.
  ScriptedModel(const model::Tokenizer& tokenizer, std::vector<std::string> script);

  const model::ModelInfo& info() const override { return info_; }
  int position() const override { return static_cast<int>(cache_.size()); }
  Status append(std::span<const model::TokenId> tokens, const model::CancelToken* cancel) override;
  Status rewind(int length) override;
  Result<model::GenerateResult> generate(const model::GenerateRequest& request, const model::TokenCallback& on_token,
                                         const model::CancelToken* cancel) override;

  std::size_t steps_used() const { return next_; }
  const std::vector<model::TokenId>& cache() const { return cache_; }

 private:
  const model::Tokenizer& tokenizer_;
  std::vector<std::string> script_;
  std::size_t next_ = 0;
  std::vector<model::TokenId> cache_;
  model::ModelInfo info_;
};

}  // namespace alltools::python
