// CPU backend for GLM-4 checkpoints (model_type chatglm | glm | glm4): loads a checkpoint folder (safetensors,
// single file or sharded) and runs it as a LanguageModel with a KV cache, batched prefill and a seeded sampler.
//
//   auto model = alltools::model::load_cpu_model("/path/to/glm-4-9b-chat", {});   // Result<unique_ptr<LanguageModel>>
//   model.value()->append(prompt_ids);
//   auto out = model.value()->generate({.sampling = {}, .stop_ids = {eos}, .max_new_tokens = 64}, on_token);
//
// Nothing here assumes GLM-4-9B's sizes: every dimension comes from config.json.
// Thread-safety: as LanguageModel (one caller at a time; CancelToken from any thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/language_model.h"
#include "model/local_model.h"
#include "model/loader/model_config.h"

namespace alltools::model {

struct CpuModelOptions {
  // How weight matrices are held in memory. kAsStored keeps F32/BF16/F16 tensors as stored (copied into huge
  // pages, or zero-copy views into the mapped files with map_weights); kBF16 keeps BF16 as stored and rounds
  // F32/F16 to BF16; kF32 converts to f32; kInt8 quantizes every matrix at load time to int8 with one f32 scale
  // per output row (weight-only). Norm weights and biases are always f32. Arithmetic is f32 with f32
  // accumulation, except int8 decode, which rounds the activation vector once to int16 (error <= max|x| / 65534)
  // and sums int8 x int16 products in int32 over blocks of 64 vector steps (1024 or 2048 elements), then in f32.
  enum class WeightType { kAsStored, kF32, kBF16, kInt8 };
  WeightType weights = WeightType::kAsStored;
  int threads = 0;      // worker threads for the kernels; 0 = all cores this process may run on
  int max_context = 0;  // KV cache capacity in tokens; 0 = the config's maximum (pages are committed lazily)
  // Opt-in: for bf16 matrices and more than one token (prefill), round the activations to bf16 and use the CPU's
  // bf16 dot-product instructions (AVX512-BF16; ignored elsewhere): about 1.5x the prefill speed, with x carrying
  // bf16's 8-bit mantissa as in llama.cpp and HF bf16 inference. Off by default: f32 activations everywhere, so a
  // prompt gives the same logits whether it is prefilled in one batch or token by token (within 1e-4).
  bool bf16_activations = false;
  // Matrices kept as stored (kAsStored/kBF16) are copied out of the mapped checkpoint into memory advised for
  // 2 MiB pages (decode is ~40 % faster than through 4 KiB page-cache pages); true keeps them as zero-copy views
  // into the mapping (instant load, pages shared with other processes mapping the same files).
  bool map_weights = false;
};

// Parses "f32" | "bf16" | "int8" | "stored" (the CLI's --dtype).
Result<CpuModelOptions::WeightType> parse_weight_type(std::string_view text);
std::string_view weight_type_name(CpuModelOptions::WeightType type);

// Shapes of a model built from random weights instead of a checkpoint (benchmarks, tests).
// "glm4-9b" = GLM-4-9B's real shapes (40 layers, hidden 4096, ffn 13696, 32/2 heads, vocab 151552);
// "glm4-9b:layers=N" keeps the shapes with N layers; "tiny" is a small model for tests.
struct SyntheticSpec {
  std::string preset = "glm4-9b";
  int layers = 0;  // 0 = the preset's
  std::uint64_t seed = 1;
};
Result<SyntheticSpec> parse_synthetic_spec(std::string_view text);  // "glm4-9b:layers=4"
// The shapes behind a spec (shared with the CUDA backend, whose synthetic models match the CPU's bit for bit).
ModelConfig synthetic_config(const SyntheticSpec& spec);

// The CPU model: a LocalModel (logits, timings and byte counts for checks and benchmarks).
using CpuModel = LocalModel;

// Loads config.json + safetensors from `model_dir`. Errors name the file and tensor: missing/truncated shards,
// headers that lie about offsets or sizes, wrong tensor shapes or dtypes, unknown model_type.
Result<std::unique_ptr<CpuModel>> open_cpu_model(const std::string& model_dir, const CpuModelOptions& options);
Result<std::unique_ptr<LanguageModel>> load_cpu_model(const std::string& model_dir, const CpuModelOptions& options);

// A model with random weights of the given shapes (weights generated in memory, then held per options.weights;
// kAsStored means bf16).
Result<std::unique_ptr<CpuModel>> open_synthetic_cpu_model(const SyntheticSpec& spec, const CpuModelOptions& options);

}  // namespace alltools::model
