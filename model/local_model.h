// LocalModel: a LanguageModel that runs in this process (the CPU and CUDA backends), with what checks and
// benchmarks need beyond generation: logits at every position, the timings of the last call, and the bytes a
// decode step reads. Remote models are plain LanguageModels.
//
// Thread-safety: as LanguageModel.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/language_model.h"

namespace alltools::model {

class LocalModel : public LanguageModel {
 public:
  // Like append(), and also returns the logits at every appended position: [tokens.size(), vocab] row-major.
  virtual Result<std::vector<float>> append_with_logits(std::span<const TokenId> tokens,
                                                        const CancelToken* cancel = nullptr) = 0;
  // Logits after the last token in the cache ([vocab]); computes them if a rewind made them stale.
  // Errors: kInvalidArgument when the cache is empty.
  virtual Result<std::vector<float>> last_logits() = 0;
  // Timings of the last append()/append_with_logits() (prefill) or generate() call.
  virtual const Timings& last_timings() const = 0;
  // Bytes of weight matrices read by one decode step (every matrix once + one embedding row); for GB/s figures.
  virtual std::uint64_t weight_bytes_per_token() const = 0;
  // Bytes of KV cache read per decode step for each position in the context (keys + values, all layers).
  virtual std::uint64_t kv_bytes_per_position() const = 0;
  // Bytes of weights held (matrices, embeddings, norms), whether mapped or owned.
  virtual std::uint64_t weight_bytes() const = 0;
  // Which kernels run: the CPU's SIMD set ("avx512", "avx2", "scalar") or the GPU ("cuda sm_90 ...").
  virtual std::string_view kernel_name() const = 0;
  // The type activations are computed in: "f32" (the CPU backend, and CUDA with f32 weights) or "bf16" (CUDA with
  // bf16 or int8 weights). Reference checks choose their tolerance by it.
  virtual std::string_view compute_type() const = 0;
  // CPU worker threads (1 for the CUDA backend, whose host side is one thread).
  virtual int threads() const = 0;
};

}  // namespace alltools::model
