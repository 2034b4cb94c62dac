// Transformer: the GLM forward pass (../shared/docs/glm4-protocol.md §6) over a chunk of one sequence or a decode
// step of many, reading and writing their KV caches. All activations f32; softmax in f32; matrix products
// through the run-time kernel set.
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

  // One token of a batched decode step: `token` at `position` of the sequence whose keys and values are `cache`
  // (positions < position already there).
  struct Row {
    TokenId token;
    KvCache* cache;
    int position;
  };

  // The weights are shared by every cache the forward passes below are given (one Transformer, many sequences).
  Transformer(ModelConfig config, ModelWeights weights, std::unique_ptr<ThreadPool> pool);

  // A cache for one sequence of up to `capacity` positions (pages committed as positions are written).
  Result<KvCache> new_cache(int capacity) const;

  // Runs `tokens` (1..kMaxChunkTokens ids, each < vocab) of one sequence at positions [start, start + n), writing
  // their keys and values into `cache`; positions < start must already be there. Writes logits for the last
  // token ([vocab]) or every token ([n, vocab]) unless kNone. start + n <= cache capacity.
  void forward(KvCache& cache, std::span<const TokenId> tokens, int start, Logits mode, float* logits);

  // One decode step over tokens of different sequences (1..kMaxChunkTokens rows, one per cache): the linear
  // layers run once over all rows, RoPE and attention per row against its own cache. Writes [rows, vocab] logits.
  // Row i's logits are bitwise those of forward(*rows[i].cache, {rows[i].token}, rows[i].position, kLast, ...)
  // alone, whatever the other rows.
  void forward_rows(std::span<const Row> rows, float* logits);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const KernelSet& kernels() const { return kernels_; }
  // CpuModelOptions::bf16_activations (set once, before any forward); on only where the kernel set has
  // matmul_bf16_dot.
  void use_bf16_activations(bool on) { bf16_dot_ = on && kernels_.matmul_bf16_dot != nullptr; }
  bool bf16_activations() const { return bf16_dot_; }
  int threads() const { return pool_->size(); }
  ThreadPool& pool() { return *pool_; }

 private:
  struct Target {
    const Matrix* matrix;
    int column;  // where its rows land in the output row
  };
  // The forward pass over `rows` (a chunk of one sequence, or a decode step). `per_row`: linear layers use the
  // batched decode kernel (each row's result independent of the others) instead of the prefill GEMM.
  void run(std::span<const Row> rows, bool per_row, Logits mode, float* logits);
  // y[t, column + r] = x[t, :] . W[r, :] for every target, all rows split across the pool.
  void linear(std::span<const Target> targets, const float* x, int ldx, int tokens, bool per_row, float* y, int ldy);
  void rms_norm(const float* x, const std::vector<float>& weight, int tokens, float* out) const;
  void rope(float* qkv, std::span<const Row> rows) const;
  void attention(int layer, const float* qkv, std::span<const Row> rows, float* out);

  ModelConfig config_;
  ModelWeights weights_;
  std::unique_ptr<ThreadPool> pool_;
  const KernelSet& kernels_;
  bool bf16_dot_ = false;  // bf16 matrices with tokens > 1 go through kernels_.matmul_bf16_dot
  std::vector<double> inv_freq_;  // [rotary_dim / 2]
  std::vector<Row> chunk_rows_;   // forward()'s tokens as rows
  // Activation buffers for one chunk, [kMaxChunkTokens, width].
  std::vector<float> x_, h_, qkv_, attn_, o_, gate_up_, act_;
};

}  // namespace alltools::model::cpu
