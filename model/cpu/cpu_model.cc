#include "model/cpu/cpu_model.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>

#include "model/cpu/host_logits_model.h"
#include "model/cpu/transformer.h"
#include "model/cpu/transformer_loader.h"
#include "model/loader/model_config.h"

namespace alltools::model {
namespace {

using cpu::Transformer;

// The CPU backend behind BatchedModel's bookkeeping: one Transformer and one KV cache of its own.
class CpuModelImpl final : public cpu::HostLogitsModel {
 public:
  CpuModelImpl(std::unique_ptr<Transformer> tf, cpu::KvCache cache, ModelInfo info)
      : HostLogitsModel(*tf, std::move(info)), tf_(std::move(tf)), cache_(std::move(cache)) {}

 protected:
  Status forward_chunk(std::span<const TokenId> tokens, int start, Logits mode, float* all_rows) override {
    switch (mode) {
      case Logits::kNone: tf_->forward(cache_, tokens, start, Transformer::Logits::kNone, nullptr); break;
      case Logits::kLast: tf_->forward(cache_, tokens, start, Transformer::Logits::kLast, logits()); break;
      case Logits::kAll:
        tf_->forward(cache_, tokens, start, Transformer::Logits::kAll, all_rows);
        keep_last_row(all_rows, tokens.size());
        break;
    }
    return ok_status();
  }
  int max_chunk() const override { return cpu::kMaxChunkTokens; }
  void on_rewind(int length, int dropped) override {
    if (dropped >= cpu::kReleaseCacheAfterRewind) cache_.release_after(length);
  }

 private:
  std::unique_ptr<Transformer> tf_;
  cpu::KvCache cache_;
};

using SourceFactory = std::function<std::unique_ptr<cpu::TensorSource>(cpu::ThreadPool&)>;

Result<cpu::LoadedTransformer> build(const ModelConfig& config, const SourceFactory& make_source,
                                     const std::string& name, const CpuModelOptions& options) {
  int capacity = config.max_context;
  if (options.max_context < 0) {
    return make_error(ErrorCode::kInvalidArgument, "max_context must be >= 0");
  }
  if (options.max_context > 0) {
    if (options.max_context > config.max_context) {
      return make_error(ErrorCode::kOutOfRange, "max_context " + std::to_string(options.max_context) +
                                                    " exceeds the model's maximum of " +
                                                    std::to_string(config.max_context));
    }
    capacity = options.max_context;
  }
  const int threads = options.threads > 0 ? options.threads : cpu::available_cpus();
  auto pool = std::make_unique<cpu::ThreadPool>(threads);
  std::unique_ptr<cpu::TensorSource> source = make_source(*pool);
  ALLTOOLS_ASSIGN_OR_RETURN(cpu::ModelWeights weights, cpu::load_weights(config, *source, options.weights, *pool,
                                                                             /*copy_mapped=*/!options.map_weights));
  source.reset();  // storage not referenced by the weights (converted or quantized tensors) goes now
  ModelInfo info;
  info.name = name;
  info.architecture = std::string(architecture_name(config.arch));
  info.vocab_size = config.vocab_size;
  info.max_context = capacity;
  auto tf = std::make_unique<Transformer>(config, std::move(weights), std::move(pool));
  tf->use_bf16_activations(options.bf16_activations);
  return cpu::LoadedTransformer{std::move(tf), std::move(info)};
}

Result<std::unique_ptr<CpuModel>> with_cache(cpu::LoadedTransformer loaded) {
  ALLTOOLS_ASSIGN_OR_RETURN(cpu::KvCache cache, loaded.transformer->new_cache(loaded.info.max_context));
  return std::unique_ptr<CpuModel>(
      new CpuModelImpl(std::move(loaded.transformer), std::move(cache), std::move(loaded.info)));
}

}  // namespace

namespace cpu {

Result<LoadedTransformer> load_transformer(const std::string& model_dir, const CpuModelOptions& options) {
  ALLTOOLS_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(model_dir));
  ALLTOOLS_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(model_dir));
  auto shared = std::make_shared<Checkpoint>(std::move(checkpoint));
  const auto make_source = [&](ThreadPool&) -> std::unique_ptr<TensorSource> {
    return std::make_unique<CheckpointSource>(std::move(*shared));
  };
  std::filesystem::path dir_path = std::filesystem::path(model_dir).lexically_normal();
  if (!dir_path.has_filename()) dir_path = dir_path.parent_path();
  std::string name = dir_path.filename().string();
  if (name.empty() || name == "." || name == "..") name = model_dir;
  return build(config, make_source, name, options);
}

Result<LoadedTransformer> load_synthetic_transformer(const SyntheticSpec& spec, const CpuModelOptions& options) {
  const ModelConfig config = synthetic_config(spec);
  const auto make_source = [&](ThreadPool& pool) -> std::unique_ptr<TensorSource> {
    return std::make_unique<SyntheticSource>(config, spec.seed, pool);
  };
  return build(config, make_source, "synthetic-" + spec.preset, options);
}

}  // namespace cpu

ModelConfig synthetic_config(const SyntheticSpec& spec) {
  ModelConfig c;
  c.arch = Architecture::kGlm4;
  if (spec.preset == "tiny") {
    c.vocab_size = 1024, c.hidden_size = 128, c.intermediate_size = 352, c.num_layers = 2;
    c.num_heads = 4, c.num_kv_heads = 2, c.head_dim = 32, c.max_context = 4096;
  } else {  // glm4-9b (GLM-4-9B-0414 shapes)
    c.vocab_size = 151552, c.hidden_size = 4096, c.intermediate_size = 13696, c.num_layers = 40;
    c.num_heads = 32, c.num_kv_heads = 2, c.head_dim = 128, c.max_context = 32768;
  }
  if (spec.layers > 0) c.num_layers = spec.layers;
  c.rotary_dim = c.head_dim / 2;
  c.rope_theta = 10000.0;
  c.rms_eps = 1e-5;
  return c;
}

Result<CpuModelOptions::WeightType> parse_weight_type(std::string_view text) {
  using W = CpuModelOptions::WeightType;
  if (text == "f32") return W::kF32;
  if (text == "bf16") return W::kBF16;
  if (text == "int8") return W::kInt8;
  if (text == "stored") return W::kAsStored;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown dtype '" + std::string(text) + "' (expected f32, bf16, int8 or stored)");
}

std::string_view weight_type_name(CpuModelOptions::WeightType type) {
  switch (type) {
    case CpuModelOptions::WeightType::kAsStored: return "stored";
    case CpuModelOptions::WeightType::kF32: return "f32";
    case CpuModelOptions::WeightType::kBF16: return "bf16";
    case CpuModelOptions::WeightType::kInt8: return "int8";
  }
  return "unknown";
}

Result<SyntheticSpec> parse_synthetic_spec(std::string_view text) {
  SyntheticSpec spec;
  const auto colon = text.find(':');
  spec.preset = std::string(text.substr(0, colon));
  if (spec.preset != "glm4-9b" && spec.preset != "tiny") {
    return make_error(ErrorCode::kInvalidArgument,
                      "unknown synthetic model '" + spec.preset + "' (expected glm4-9b or tiny)");
  }
  if (colon != std::string_view::npos) {
    const std::string_view opt = text.substr(colon + 1);
    constexpr std::string_view kLayers = "layers=";
    if (opt.substr(0, kLayers.size()) != kLayers) {
      return make_error(ErrorCode::kInvalidArgument, "synthetic option '" + std::string(opt) + "' (expected layers=N)");
    }
    const std::string digits(opt.substr(kLayers.size()));
    if (digits.empty() || digits.size() > 4 || digits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(digits) <= 0) {
      return make_error(ErrorCode::kInvalidArgument, "layers must be a positive integer, got '" + digits + "'");
    }
    spec.layers = std::stoi(digits);
  }
  return spec;
}

Result<std::unique_ptr<CpuModel>> open_cpu_model(const std::string& model_dir, const CpuModelOptions& options) {
  ALLTOOLS_ASSIGN_OR_RETURN(auto loaded, cpu::load_transformer(model_dir, options));
  return with_cache(std::move(loaded));
}

Result<std::unique_ptr<LanguageModel>> load_cpu_model(const std::string& model_dir, const CpuModelOptions& options) {
  ALLTOOLS_ASSIGN_OR_RETURN(auto model, open_cpu_model(model_dir, options));
  return std::unique_ptr<LanguageModel>(std::move(model));
}

Result<std::unique_ptr<CpuModel>> open_synthetic_cpu_model(const SyntheticSpec& spec, const CpuModelOptions& options) {
  ALLTOOLS_ASSIGN_OR_RETURN(auto loaded, cpu::load_synthetic_transformer(spec, options));
  return with_cache(std::move(loaded));
}

}  // namespace alltools::model
