// The CPU backend's SequencePool: continuous batching over one set of weights.
//
//   auto pool = alltools::model::open_cpu_sequence_pool(model_dir, {.weights = kBF16}, {.max_sequences = 16});
//   auto seq = pool.value()->open(prompt);          // a LanguageModel of its own (own KV cache, history, sampler)
//   seq.value()->append(std::span(prompt).subspan(seq.value()->position()));
//   seq.value()->generate(request, on_token, &cancel);
//
// One scheduler thread owns the weights and the kernel threads and runs every forward pass:
//  - a decode step takes the one-token forward of every sequence waiting for one (every sequence inside
//    generate() contributes a row per step) and runs them as one batch: each linear layer once over all rows
//    (the weights are read once per step), RoPE and attention per row against its own cache. A row's logits are
//    bitwise those it gets alone (Transformer::forward_rows), so greedy output does not depend on the batch;
//  - a prefill (append of more than one token, continuation_logits) runs as chunks of at most
//    SequencePoolOptions::prefill_chunk tokens, one chunk between two decode steps;
//  - before a step it waits for the rows of generating sequences that are still sampling (or in their callback),
//    up to a fifth of the last step's time (within [kGatherMicros, kGatherMaxMicros]): a row that misses a step
//    waits a whole step.
// Sampling, LogitsFilter and the token callback run on the thread that called generate(), which blocks while its
// rows are in the scheduler's queue; a slow callback delays only its own sequence (the others step without it).
// A CancelToken is honoured at the next step; destroying a handle cancels what runs on it and waits for it.
//
// KV memory: each sequence has its own cache (capacity CpuModelOptions::max_context, committed lazily); the pool
// counts positions x bytes per position against SequencePoolOptions::kv_budget, evicting parked caches (least
// recently used first) to make room. open() reserves the prompt's positions; when a later append would pass the
// budget it fails with kResourceExhausted (the sequence is unchanged) and generate() ends with kContextFull.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "model/cpu/cpu_model.h"
#include "model/sequence_pool.h"

namespace alltools::model {

inline constexpr int kGatherMicros = 2000;        // the wait for late rows before a step, at least...
inline constexpr int kGatherMaxMicros = 500000;   // ...and at most
inline constexpr double kGatherFraction = 0.2;    // of the last step's time

// Errors: those of open_cpu_model / open_synthetic_cpu_model; kInvalidArgument for options out of range or an
// unknown device; kUnavailable for device "cuda" (continuous batching runs on the CPU backend only).
Result<std::unique_ptr<SequencePool>> open_cpu_sequence_pool(const std::string& model_dir,
                                                             const CpuModelOptions& options,
                                                             const SequencePoolOptions& pool_options);
Result<std::unique_ptr<SequencePool>> open_cpu_sequence_pool(const SyntheticSpec& spec, const CpuModelOptions& options,
                                                             const SequencePoolOptions& pool_options);

}  // namespace alltools::model
