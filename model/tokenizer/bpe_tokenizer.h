// Rank-based byte-level BPE (tiktoken's algorithm) with the cl100k pre-tokenizer, as GLM-4 uses it.
// load_tokenizer() (model/tokenizer.h) picks the format; these entry points load one format explicitly.
//
// Vocabulary contract (any size, so the same code loads glm-4-9b-chat and small trained vocabularies):
//   tokenizer.model: lines `base64(bytes) SP rank`, ranks 0..N-1 dense, all 256 single bytes present;
//                    ids = ranks; the 14 GLM-4 special tokens get ids N..N+13 in glm4_special_tokens() order.
//   tokenizer.json:  HF byte-level BPE (GPT-2 byte<->unicode mapping). Token ids come from model.vocab, merge
//                    priority from the position in model.merges; specials from added_tokens (special: true).
// Encoding: the cl100k regex splits text into pieces (PCRE2, UTF + JIT), each piece is merged by lowest rank,
// leftmost first. Thread-safety: a loaded tokenizer is immutable; encode/decode may run concurrently.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "model/tokenizer.h"

namespace alltools::model {

// The GLM-4 special tokens in id order: "<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>",
// "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
// "<|begin_of_video|>", "<|end_of_video|>".
std::span<const std::string_view> glm4_special_tokens();

// The GLM-4 / cl100k pre-tokenizer pattern, as PCRE2 source.
std::string_view glm4_pretokenizer_pattern();

Result<std::unique_ptr<Tokenizer>> load_tiktoken_model(const std::string& file);
Result<std::unique_ptr<Tokenizer>> load_hf_tokenizer_json(const std::string& file);

}  // namespace alltools::model
