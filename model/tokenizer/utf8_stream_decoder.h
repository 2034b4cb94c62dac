// Streaming UTF-8 decoding of token bytes. Tokens split multi-byte characters all the time (CJK, emoji), so a
// decoder fed token by token must hold back an incomplete sequence until its remaining bytes arrive.
//
// Contract: everything push()/flush() return is valid UTF-8. Bytes that can never become a valid sequence
// (stray continuation bytes, overlong forms, surrogates, > U+10FFFF, a sequence cut short by a non-continuation
// byte) are replaced by U+FFFD, one per maximal invalid subpart (the WHATWG / Unicode "substitution of maximal
// subparts" practice). Valid input comes out byte-identical, however it is split. Not thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "model/language_model.h"
#include "model/tokenizer.h"

namespace alltools::model {

class Utf8StreamDecoder {
 public:
  // Appends bytes; returns the complete characters now available (possibly empty).
  std::string push(std::string_view bytes);
  // End of stream: returns U+FFFD for a held-back incomplete sequence (empty if none) and resets.
  std::string flush();
  // True while an incomplete sequence (1..3 bytes) is held back.
  bool has_pending() const { return pending_size_ != 0; }
  void reset() { pending_size_ = 0; }

 private:
  char pending_[4] = {};
  int pending_size_ = 0;
};

// Token ids -> text, incrementally, through a Tokenizer's decode_bytes(). Special tokens decode to their
// strings (e.g. "<|user|>"); callers that need to treat them as boundaries check Tokenizer::is_special() first.
// The Tokenizer must outlive this object.
class TokenStreamDecoder {
 public:
  explicit TokenStreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}
  std::string push(TokenId id);
  std::string push(std::span<const TokenId> ids);
  std::string flush() { return utf8_.flush(); }
  bool has_pending() const { return utf8_.has_pending(); }

 private:
  const Tokenizer* tokenizer_;
  Utf8StreamDecoder utf8_;
};

// True if `text` is entirely valid UTF-8 (no surrogates, no overlongs, <= U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace alltools::model
