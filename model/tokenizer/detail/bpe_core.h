// Internals shared by the tokenizer loaders: the vocabulary as (bytes, merge rank, id) entries, turned into a
// Tokenizer by make_bpe_tokenizer(). Not part of the public API.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/tokenizer.h"

namespace alltools::model::detail {

inline constexpr std::int32_t kNoRank = std::numeric_limits<std::int32_t>::max();
inline constexpr std::size_t kMaxTokenBytes = 65535;
// Ids and ranks must stay below this (glm-4-9b-chat has 151,343 ids); bounds what a hostile file can allocate.
inline constexpr std::int32_t kMaxVocabSize = 1 << 24;

struct TokenEntry {
  std::string bytes;
  std::int32_t rank = kNoRank;  // merge priority: the pair whose concatenation has the lowest rank merges first
  TokenId id = 0;
};

struct SpecialEntry {
  std::string text;
  TokenId id = 0;
};

// Fails (kParse) on duplicate byte strings or ids, a missing single-byte token, empty or over-long tokens.
// `source` names the file for error messages.
Result<std::unique_ptr<Tokenizer>> make_bpe_tokenizer(std::vector<TokenEntry> tokens,
                                                      std::vector<SpecialEntry> specials, const std::string& source);

}  // namespace alltools::model::detail
