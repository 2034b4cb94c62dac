// SequencePool: many independent sequences (conversations, requests) on one model, for `alltools serve`.
//
// Each sequence is a LanguageModel of its own (its own KV cache, history and sampling stream). Sequences may be
// driven from different threads at the same time; a pool that batches (the CPU backend's continuous batching)
// runs the decode steps of all sequences that are generating as one batched forward pass per step (the weights
// are read once per step for the whole batch), lets new sequences join between steps and finished ones leave.
// A request's greedy output is the same whether it runs alone or batched with others.
//
// Prefix reuse: when a sequence handle is destroyed its cache may be parked in the pool (while the memory budget
// allows; least recently used parked caches are evicted first). open() with a prompt hands out the parked cache
// sharing the longest prefix with that prompt, rewound to the common prefix, so the caller appends only the rest.
//
//   auto seq = pool.open(prompt);                  // Result<std::unique_ptr<LanguageModel>>
//   seq.value()->append(prompt.subspan(seq.value()->position()));
//   seq.value()->generate(request, on_token, &cancel);   // batched with every other generating sequence
//
// Thread-safety: open() and stats() from any thread; each returned LanguageModel from one thread at a time (as
// LanguageModel), CancelToken::cancel() from any thread; a cancelled generate() leaves the batch at the next step.
// The pool must outlive every sequence it opened.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/result.h"
#include "model/language_model.h"

namespace alltools::model {

struct SequencePoolOptions {
  std::string device = "cpu";        // where the pool runs ("cpu"; "cuda" is refused until the device pool exists)
  int max_sequences = 16;            // handles open at once, and so rows per decode step (1..256)
  std::uint64_t kv_budget = 0;       // bytes of KV cache (active + parked) the pool may commit; 0 = no limit
  int max_parked = 16;               // caches kept for prefix reuse after their handle is destroyed (0 = none)
  int prefill_chunk = 64;            // tokens per prefill pass between decode steps (bounds a decoder's wait)
};

struct SequencePoolStats {
  int active = 0;                 // sequences handed out and not yet destroyed
  int parked = 0;                 // caches kept for prefix reuse
  int generating = 0;             // sequences inside generate() now
  std::uint64_t kv_bytes = 0;     // KV-cache memory committed (active + parked)
  std::uint64_t kv_budget = 0;    // the limit kv_bytes may not pass (0 = none)
  std::uint64_t steps = 0;        // batched decode steps run since the pool was made
  std::uint64_t step_tokens = 0;  // tokens decoded in those steps (step_tokens / steps = mean batch size)
  std::uint64_t step_micros = 0;  // time spent running those steps (the rest: prefill, or waiting for rows)
  std::uint64_t reused_tokens = 0;  // prompt tokens served from parked caches instead of being recomputed
};

class SequencePool {
 public:
  virtual ~SequencePool() = default;

  virtual const ModelInfo& info() const = 0;

  // A new sequence. With a prompt, its cache may already hold a prefix of it (position() tokens, reused from a
  // parked cache); the caller appends prompt[position():]. Errors: kResourceExhausted when the pool's limit on
  // sequences or its KV-memory budget leaves no room even after evicting every parked cache (retry later).
  virtual Result<std::unique_ptr<LanguageModel>> open(std::span<const TokenId> prompt = {}) = 0;

  virtual SequencePoolStats stats() const = 0;
};

}  // namespace alltools::model
