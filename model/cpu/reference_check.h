// Reference check: runs a checkpoint on a reference file produced by the HF implementation
// (../shared/fixtures/README.md: input_ids, logits at every prompt position, greedy_ids, greedy_step_logits) and
// reports the logit error and the greedy continuation. Used by `alltools check-model` and the fixture tests.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "model/cpu/cpu_model.h"

namespace alltools::model {

struct ReferenceCheckOptions {
  CpuModelOptions model;
  double tolerance = 1e-3;     // max abs logit error allowed (prompt positions and greedy steps)
  bool relative = false;       // tolerance is a fraction of the largest |logit| in the reference
  int min_greedy_match = -1;   // leading greedy tokens that must match; -1 = all of them
};

struct ReferenceCheckReport {
  std::string kernel;
  int threads = 0;
  int prompt_tokens = 0;
  int vocab = 0;
  double max_abs_error = 0.0;       // over logits at every prompt position
  double max_abs_reference = 0.0;   // largest |logit| in the reference (prompt positions)
  double tolerance = 0.0;           // the absolute tolerance applied
  int worst_position = 0;
  double max_step_error = 0.0;      // over greedy_step_logits, feeding the reference's greedy ids
  std::vector<TokenId> expected;    // greedy_ids
  std::vector<TokenId> actual;      // what generate() produced (temperature 0)
  int greedy_matched = 0;           // leading tokens equal
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  bool passed = false;
};

// Errors: loading the model or the reference (kNotFound/kParse naming the file and tensor), reference tensors of
// the wrong dtype/shape (kInvalidArgument).
Result<ReferenceCheckReport> run_reference_check(const std::string& model_dir, const std::string& reference_path,
                                                 const ReferenceCheckOptions& options);
// The same check on a model already opened (any LocalModel: the CPU or CUDA backend); options.model is unused.
// The model's cache must be empty.
Result<ReferenceCheckReport> run_reference_check(LocalModel& model, const std::string& reference_path,
                                                 const ReferenceCheckOptions& options);

}  // namespace alltools::model
