// Loading the weights of a CPU Transformer (a checkpoint folder or a synthetic spec), shared by the models that
// run on it: CpuModel (one sequence, one cache) and CpuSequencePool (many sequences, one cache each).
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "model/cpu/cpu_model.h"
#include "model/cpu/transformer.h"

namespace alltools::model::cpu {

struct LoadedTransformer {
  std::unique_ptr<Transformer> transformer;
  ModelInfo info;  // max_context: the capacity of each sequence's cache (options.max_context or the config's)
};

// Errors as open_cpu_model / open_synthetic_cpu_model.
Result<LoadedTransformer> load_transformer(const std::string& model_dir, const CpuModelOptions& options);
Result<LoadedTransformer> load_synthetic_transformer(const SyntheticSpec& spec, const CpuModelOptions& options);

}  // namespace alltools::model::cpu
