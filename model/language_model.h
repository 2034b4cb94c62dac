// LanguageModel: the token-level interface every backend (cpu/, cuda/, remote/) implements and the agent loop
// drives. A model instance owns one session's KV cache: append() extends it, rewind() truncates it, generate()
// samples new tokens after it. Nothing here knows about tools, chat templates or agents.
//
// Thread-safety: a LanguageModel is used from one thread at a time, except CancelToken::cancel(), which may be
// called from any thread while generate() or append() runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace alltools::model {

using TokenId = std::int32_t;

// Set from any thread; the model checks it between tokens (and between prefill chunks) and returns kCancelled.
class CancelToken {
 public:
  void cancel() { flag_.store(true, std::memory_order_relaxed); }
  void reset() { flag_.store(false, std::memory_order_relaxed); }
  bool cancelled() const { return flag_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> flag_{false};
};

struct SamplingParams {
  float temperature = 0.0f;         // 0 = greedy (argmax; lowest id wins a tie)
  int top_k = 0;                    // 0 = off
  float top_p = 1.0f;               // 1 = off
  float repetition_penalty = 1.0f;  // 1 = off; applied to tokens already in the context (CTRL-style)
  std::uint64_t seed = 0;           // same seed + same inputs = same tokens
};

// Restricts what may be sampled next (constrained decoding). Before each sampled token, wants(generated) says
// whether this step is constrained (`generated`: the tokens this generate() call has produced so far); if so,
// apply() gets the logits and sets those of forbidden tokens to -infinity. Honoured by the local backends (CPU,
// CUDA: the logits cross to the host for such steps only); a remote backend cannot apply it and ignores it.
struct LogitsFilter {
  std::function<bool(std::span<const TokenId> generated)> wants;
  std::function<void(std::span<const TokenId> generated, std::span<float> logits)> apply;
};

struct GenerateRequest {
  SamplingParams sampling;
  LogitsFilter filter;            // optional (both functions set, or neither)
  std::vector<TokenId> stop_ids;  // generation stops after emitting one of these (it is reported, and kept in cache)
  int max_new_tokens = 512;       // hard bound on the loop
};

// Per-phase timings of the last append/generate, for benchmarks and the trace.
struct Timings {
  int prefill_tokens = 0;
  double prefill_seconds = 0.0;
  int decode_tokens = 0;
  double decode_seconds = 0.0;
};

enum class FinishReason { kStopToken, kMaxTokens, kContextFull, kCancelled };

struct GenerateResult {
  std::vector<TokenId> tokens;  // every sampled token, including the stop token if one ended it
  FinishReason finish = FinishReason::kMaxTokens;
  Timings timings;
};

struct ModelInfo {
  std::string name;          // e.g. folder name or remote model id
  std::string architecture;  // "chatglm" | "glm" | "glm4" | "remote"
  int vocab_size = 0;        // rows of the output layer
  int max_context = 0;       // positions the KV cache can hold
};

// Called for each sampled token as soon as it is known. Returning false stops generation (FinishReason kCancelled).
using TokenCallback = std::function<bool(TokenId)>;

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;

  virtual const ModelInfo& info() const = 0;

  // Number of tokens currently in the KV cache.
  virtual int position() const = 0;

  // Runs the tokens through the model (one batched prefill) and appends them to the KV cache.
  // Errors: kOutOfRange when position() + tokens.size() > max_context (cache unchanged), kCancelled.
  virtual Status append(std::span<const TokenId> tokens, const CancelToken* cancel = nullptr) = 0;

  // Truncates the KV cache to `length` tokens (length <= position()); later append() continues from there.
  virtual Status rewind(int length) = 0;

  // Samples tokens after the current cache content, appending each sampled token to the cache, until a stop id,
  // max_new_tokens, a full context, the callback returning false, or cancellation.
  virtual Result<GenerateResult> generate(const GenerateRequest& request, const TokenCallback& on_token,
                                          const CancelToken* cancel = nullptr) = 0;

  // Next-token logits along alternative continuations of the cache content, for choosing among a few short
  // alternatives (the agent's tool-name choice). For each continuation c, in order, visit(index, rows) receives
  // (c.size() + 1) rows of [vocab] logits: row i is the distribution after the cache and c[0..i). The cache, and
  // the logits the next generate() samples from, are left as they were. Errors: kUnsupported where the backend
  // has no logits (remote), kOutOfRange when a continuation does not fit, kInvalidArgument on an empty cache or
  // an id outside the vocabulary, kCancelled.
  virtual Status continuation_logits(std::span<const std::vector<TokenId>> continuations,
                                     const std::function<void(std::size_t index, std::span<const float> rows)>& visit,
                                     const CancelToken* cancel = nullptr) {
    (void)continuations, (void)visit, (void)cancel;
    return make_error(ErrorCode::kUnsupported, "this model backend does not expose logits");
  }
};

}  // namespace alltools::model
