// Model weights for the CPU backend: every tensor of a GLM checkpoint bound by name, shape-checked, and held in
// the requested precision. Matrices that keep their stored format are zero-copy views into the mapped files.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/cpu/cpu_model.h"
#include "model/cpu/kernels.h"
#include "model/loader/checkpoint.h"
#include "model/loader/model_config.h"

namespace alltools::model::cpu {

class ThreadPool;

// A weight matrix as the kernels see it, plus the storage it points into (a mapping or an owned buffer).
struct Matrix {
  MatrixRef ref;
  std::shared_ptr<const void> owner;
  std::uint64_t bytes() const;
};

struct LayerWeights {
  std::vector<float> input_norm;          // [hidden]
  // Q, K and V projections: either three matrices (HF) or one fused [q+2kv, hidden] (chatglm); each lands at
  // its row offset in the fused output [q_dim | kv_dim | kv_dim].
  std::vector<Matrix> qkv;
  std::vector<int> qkv_offsets;
  std::vector<float> qkv_bias;            // [q_dim + 2 kv_dim]; zeros when the model has none
  Matrix o;                               // [hidden, q_dim]
  std::vector<float> post_self_attn_norm; // glm4 only: [hidden]
  std::vector<float> post_attention_norm; // [hidden]
  Matrix gate_up;                         // [2 ffn, hidden]: rows [0, ffn) gate, [ffn, 2 ffn) up
  Matrix down;                            // [hidden, ffn]
  std::vector<float> post_mlp_norm;       // glm4 only: [hidden]
};

struct ModelWeights {
  Matrix embedding;                 // [vocab, hidden]
  std::vector<LayerWeights> layers;
  std::vector<float> final_norm;    // [hidden]
  Matrix lm_head;                   // [vocab, hidden] (shares the embedding when tied)

  std::uint64_t matrix_bytes_per_token() const;  // every matrix but the embedding, plus one embedding row
  std::uint64_t total_bytes() const;
};

// Where tensors come from: a checkpoint on disk or a generator of random ones.
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // The tensor `name` (the loader checks it against `shape`); errors name the file and tensor.
  virtual Result<TensorView> get(const std::string& name, const std::vector<std::int64_t>& shape) = 0;
  // True when the views point into mapped files (page-cache pages), false for memory of the source's own.
  virtual bool file_backed() const { return false; }
};

class CheckpointSource : public TensorSource {
 public:
  explicit CheckpointSource(Checkpoint checkpoint) : checkpoint_(std::move(checkpoint)) {}
  Result<TensorView> get(const std::string& name, const std::vector<std::int64_t>&) override {
    return checkpoint_.tensor(name);
  }
  bool file_backed() const override { return true; }

 private:
  Checkpoint checkpoint_;
};

// Random bf16 tensors (uniform, scaled for stable activations) generated on request with the expected shapes.
class SyntheticSource : public TensorSource {
 public:
  SyntheticSource(const ModelConfig& config, std::uint64_t seed, ThreadPool& pool)
      : config_(config), seed_(seed), pool_(pool) {}
  Result<TensorView> get(const std::string& name, const std::vector<std::int64_t>& shape) override;

 private:
  ModelConfig config_;
  std::uint64_t seed_;
  ThreadPool& pool_;
  std::vector<std::unique_ptr<TensorInfo>> infos_;  // TensorView::info points here
};

// Binds every tensor the architecture needs (names per ../shared/docs/glm4-protocol.md §6), checking dtypes
// (F32/BF16/F16) and shapes, converting per `type`. The pool parallelises conversion and quantization.
// copy_mapped: matrices kept in their stored format that decode streams (all but an untied embedding) are copied
// from a file-backed source into anonymous memory advised for 2 MiB pages (see huge_page_copy in weights.cc);
// false keeps them as views into the mapping (the CUDA upload, which reads them once).
Result<ModelWeights> load_weights(const ModelConfig& config, TensorSource& source,
                                  CpuModelOptions::WeightType type, ThreadPool& pool, bool copy_mapped = false);

}  // namespace alltools::model::cpu
