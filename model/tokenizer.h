// Tokenizer: text <-> token ids for GLM-4 vocabularies (tiktoken `tokenizer.model` or HF `tokenizer.json`).
// Contract: encode() is *ordinary* encoding — special-token strings such as "<|user|>" typed in text become
// plain-text tokens, never special ids (prompt-injection safety). Only the chat template emits special ids,
// which it looks up with special_id().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/language_model.h"

namespace alltools::model {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Ordinary encoding: special-token strings are text.
  virtual std::vector<TokenId> encode(std::string_view text) const = 0;
  // Special-token strings become their ids (for tools like `alltools tokenize` only; never for message text).
  virtual std::vector<TokenId> encode_with_special(std::string_view text) const = 0;

  // Bytes of the tokens concatenated (special tokens as their strings). May end in a partial UTF-8 sequence.
  virtual std::string decode_bytes(std::span<const TokenId> ids) const = 0;

  // Id of a special token by its string, e.g. "<|observation|>".
  virtual std::optional<TokenId> special_id(std::string_view token) const = 0;
  virtual bool is_special(TokenId id) const = 0;

  // Total ids (ordinary + special).
  virtual int vocab_size() const = 0;
};

// Loads the tokenizer that a model folder ships: tokenizer.model (tiktoken) or tokenizer.json (HF), or a file path.
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const std::string& path);

}  // namespace alltools::model
