// Transformer: the GLM forward pass over a chunk of tokens (../shared/docs/glm4-protocol.md §6), reading and
// writing the KV cache. All activations f32; softmax in f32; matrix products through the run-time kernel set.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "model/cpu/kernels.h"
#include "model/cpu/kv_cache.h"
#include "model/cpu/thread_pool.h"
#include "model/cpu/weights.h"
#include "model/language_model.h"
#include "model/loader/model_config.h"

namespace alltools::model::cpu {

inline constexpr int kMaxChunkTokens = 256;  // tokens per forward() call; bounds the activation buffers

// RoPE inverse frequencies [rotary_dim / 2] as HF computes them: f32, then bf16-rounded when the checkpoint is bf16
// (ModelConfig::rope_inv_freq_bf16). Shared by every backend.
std::vector<float> rope_inv_freq(const ModelConfig& config);

class Transformer {
 public:
  enum class Logits { kNone, kLast, kAll };

  Transformer(ModelConfig config, ModelWeights weights, KvCache cache, std::unique_ptr<ThreadPool> pool);

  // Runs `tokens` (1..kMaxChunkTokens ids, each < vocab) at positions [start, start + n), writing their keys and
  // values into the cache; positions < start must already be there. Writes logits for the last token ([vocab])
  // or every token ([n, vocab]) unless kNone. start + n <= cache capacity.
  void forward(std::span<const TokenId> tokens, int start, Logits mode, float* logits);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const KernelSet& kernels() const { return kernels_; }
  KvCache& cache() { return cache_; }
  int threads() const { return pool_->size(); }
  ThreadPool& pool() { return *pool_; }

 private:
  struct Target {
    const Matrix* matrix;
    int column;  // where its rows land in the output row
  };
  // y[t, column + r] = x[t, :] . W[r, :] for every target, all rows split across the pool.
  void linear(std::span<const Target> targets, const float* x, int ldx, int tokens, float* y, int ldy);
  void rms_norm(const float* x, const std::vector<float>& weight, int tokens, float* out) const;
  void rope(float* qkv, int tokens, int start) const;
  void attention(int layer, const float* qkv, int tokens, int start, float* out);

  ModelConfig config_;
  ModelWeights weights_;
  KvCache cache_;
  std::unique_ptr<ThreadPool> pool_;
  const KernelSet& kernels_;
  std::vector<double> inv_freq_;  // [rotary_dim / 2]
  // Activation buffers for one chunk, [kMaxChunkTokens, width].
  std::vector<float> x_, h_, qkv_, attn_, o_, gate_up_, act_;
};

}  // namespace alltools::model::cpu
