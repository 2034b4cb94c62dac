// HostLogitsModel: what a CPU-backed LanguageModel keeps beyond BatchedModel's bookkeeping, the same for a model
// of its own (CpuModel) and for one sequence of a pool (CpuSequencePool): the logits after the last forwarded
// token in a host vector, a seeded cpu::Sampler, and the byte figures of the Transformer it runs on.
// Subclasses implement forward_chunk / max_chunk and fill logits() (kLast / kAll) from it.
//
// Thread-safety: as LanguageModel.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/batched_model.h"
#include "model/cpu/sampler.h"
#include "model/cpu/transformer.h"

namespace alltools::model::cpu {

inline constexpr int kReleaseCacheAfterRewind = 1024;  // positions dropped by a rewind before pages go back to the OS

class HostLogitsModel : public BatchedModel {
 public:
  std::uint64_t weight_bytes_per_token() const override { return tf_.weights().matrix_bytes_per_token(); }
  std::uint64_t kv_bytes_per_position() const override { return kv_bytes_per_position(tf_.config()); }
  std::uint64_t weight_bytes() const override { return tf_.weights().total_bytes(); }
  std::string_view kernel_name() const override { return tf_.kernels().name; }
  std::string_view compute_type() const override { return tf_.bf16_activations() ? "f32, bf16 x in prefill" : "f32"; }
  int threads() const override { return tf_.threads(); }

  // Keys + values of every layer for one position (f32).
  static std::uint64_t kv_bytes_per_position(const ModelConfig& c) {
    return static_cast<std::uint64_t>(c.num_layers) * 2 * c.kv_dim() * sizeof(float);
  }

 protected:
  // `tf` outlives this model.
  HostLogitsModel(const Transformer& tf, ModelInfo info) : BatchedModel(std::move(info)), tf_(tf) {
    logits_.resize(static_cast<std::size_t>(this->info().vocab_size));
  }

  // Where kLast writes the last token's logits ([vocab]); after kAll, keep_last_row() copies them here.
  float* logits() { return logits_.data(); }
  void keep_last_row(const float* all_rows, std::size_t rows) {
    std::copy_n(all_rows + (rows - 1) * logits_.size(), logits_.size(), logits_.begin());
  }

  Result<std::vector<float>> read_logits() override { return logits_; }
  Status write_logits(std::span<const float> logits) override {
    if (logits.size() != logits_.size()) {
      return make_error(ErrorCode::kInvalidArgument, "write_logits: expected " + std::to_string(logits_.size()) +
                                                         " values, got " + std::to_string(logits.size()));
    }
    std::copy(logits.begin(), logits.end(), logits_.begin());
    return ok_status();
  }
  Result<TokenId> sample_next(const SamplingParams& params, std::span<const TokenId> context, int step) override {
    if (step == 0 || !sampler_) sampler_.emplace(params);
    return sampler_->sample(logits_, context);
  }

 private:
  const Transformer& tf_;
  std::vector<float> logits_;  // after the last forwarded token, when BatchedModel says they are current
  std::optional<Sampler> sampler_;
};

}  // namespace alltools::model::cpu
