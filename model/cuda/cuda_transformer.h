// CudaTransformer: the GLM forward pass on the device (../shared/docs/glm4-protocol.md §6), mirroring
// model/cpu/transformer.cc. Prefill runs chunks of tokens through cuBLAS GEMMs and flash attention; a single
// token runs the decode step (fused GEMVs), captured once as a CUDA graph that reads the token id and position
// from device memory. Internal to model/cuda.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/cuda/cuda_model.h"
#include "model/cuda/device_buffer.h"
#include "model/cuda/kernels.h"
#include "model/language_model.h"
#include "model/loader/model_config.h"

namespace alltools::model::cuda {

struct DevLayer {
  DevMatrix qkv, o, gate_up, down;
  const float* qkv_bias = nullptr;
  const float* input_norm = nullptr;
  const float* post_self_attn_norm = nullptr;  // glm4
  const float* post_attention_norm = nullptr;
  const float* post_mlp_norm = nullptr;        // glm4
};

struct DevWeights {
  DevFormat format = DevFormat::kBF16;  // of every layer matrix and the lm_head
  DevMatrix embedding;
  std::vector<DevLayer> layers;
  const float* final_norm = nullptr;
  DevMatrix lm_head;
  std::vector<DeviceBuffer> storage;
  std::uint64_t bytes_per_token = 0;  // matrices read per decode step + one embedding row
  std::uint64_t total_bytes = 0;
};

// Loads the weights of `config` into device memory in the format options.weights asks for. `source_dir` empty
// means synthetic weights (SyntheticSpec seed `seed`).
Result<DevWeights> upload_weights(const ModelConfig& config, const std::string& source_dir, std::uint64_t seed,
                                  CpuModelOptions::WeightType type, cudaStream_t stream);

class CudaTransformer {
 public:
  enum class Logits { kNone, kLast, kAll };

  static Result<std::unique_ptr<CudaTransformer>> create(ModelConfig config, DevWeights weights, int capacity,
                                                         int max_chunk, bool use_graph, cudaStream_t stream);
  ~CudaTransformer();

  // Runs tokens at positions [start, start + n) (n <= max_chunk()), writing their keys and values into the cache.
  // kLast leaves the last token's logits on the device (device_logits()); kAll also copies every row into
  // host_all ([n, vocab]). Synchronises before returning.
  Status forward(std::span<const TokenId> tokens, int start, Logits mode, float* host_all);
  // Samples from device_logits() into the device token slot and returns the id (one 4-byte copy to the host).
  // `fresh_seen` rebuilds the repetition-penalty set from `context` first.
  Result<TokenId> sample(const SamplingParams& params, std::span<const TokenId> context, bool fresh_seen,
                         std::uint64_t* rng_state);
  Status copy_logits(std::vector<float>& out);
  Status write_logits(std::span<const float> logits);  // replaces the device logits (vocab floats)

  const ModelConfig& config() const { return config_; }
  const DevWeights& weights() const { return weights_; }
  int capacity() const { return capacity_; }
  int max_chunk() const { return max_chunk_; }
  bool cache_bf16() const { return cache_bf16_; }

 private:
  CudaTransformer() = default;
  Status prefill(int tokens, int start, Logits mode, float* host_all);
  Status decode_step();  // the graph body: token and position come from d_token_ / d_pos_
  // y[tokens, w.rows] (ld ldy) = x W^T (+ y when accumulate); y f32, or bf16 when y_bf16 (no accumulate).
  Status gemm(const DevMatrix& w, const void* x, int tokens, void* y, int ldy, bool accumulate, bool y_bf16 = false);
  void* k_cache(int layer) const;
  void* v_cache(int layer) const;

  ModelConfig config_;
  DevWeights weights_;
  int capacity_ = 0;
  int max_chunk_ = 0;
  bool use_graph_ = true;
  bool act_bf16_ = false;    // GEMM inputs and prefill attention output in bf16
  bool cache_bf16_ = false;
  int decode_splits_ = 1;
  int decode_min_chunk_ = 64;  // AttentionArgs::min_chunk of the decode step
  cudaStream_t stream_ = nullptr;  // not owned
  std::unique_ptr<cublasContext, CublasDeleter> cublas_;
  DeviceBuffer cache_, inv_freq_, x_, h_, qkv_, attn_, o_, gu_, act_, logits_, scratch_, dequant_, tokens_, token_,
      pos_, seen_, rng_, all_logits_;
  PinnedBuffer host_io_;  // [0] token, [1] position
  std::unique_ptr<CUgraph_st, GraphDeleter> graph_;
  std::unique_ptr<CUgraphExec_st, GraphExecDeleter> graph_exec_;
  bool decode_warm_ = false;
};

}  // namespace alltools::model::cuda
