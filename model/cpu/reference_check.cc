#include "model/cpu/reference_check.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/loader/safetensors.h"

namespace alltools::model {
namespace {

Result<TensorView> reference_tensor(const std::shared_ptr<const SafetensorsFile>& file, const std::string& name,
                                    DType dtype, std::size_t rank) {
  const TensorInfo* info = file->find(name);
  if (info == nullptr) return make_error(ErrorCode::kNotFound, file->path() + ": no tensor '" + name + "'");
  if (info->dtype != dtype || info->shape.size() != rank) {
    return make_error(ErrorCode::kInvalidArgument, file->path() + ": tensor '" + name + "' must be " +
                                                       std::string(dtype_name(dtype)) + " of rank " +
                                                       std::to_string(rank));
  }
  return file->view(*info, file);
}

std::vector<TokenId> read_ids(const TensorView& v) {
  std::vector<TokenId> ids(v.data.size() / 8);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::int64_t x;
    std::memcpy(&x, v.data.data() + 8 * i, 8);
    ids[i] = static_cast<TokenId>(x);
  }
  return ids;
}

float read_f32(const TensorView& v, std::size_t i) {
  float f;
  std::memcpy(&f, v.data.data() + 4 * i, 4);
  return f;
}

}  // namespace

Result<ReferenceCheckReport> run_reference_check(const std::string& model_dir, const std::string& reference_path,
                                                 const ReferenceCheckOptions& options) {
  ALLTOOLS_ASSIGN_OR_RETURN(auto model, open_cpu_model(model_dir, options.model));
  return run_reference_check(*model, reference_path, options);
}

Result<ReferenceCheckReport> run_reference_check(LocalModel& m, const std::string& reference_path,
                                                 const ReferenceCheckOptions& options) {
  LocalModel* model = &m;
  if (model->position() != 0) {
    return make_error(ErrorCode::kInvalidArgument, "reference check: the model's cache must be empty");
  }
  ALLTOOLS_ASSIGN_OR_RETURN(auto ref, SafetensorsFile::open(reference_path));
  ALLTOOLS_ASSIGN_OR_RETURN(TensorView ids_v, reference_tensor(ref, "input_ids", DType::kI64, 1));
  ALLTOOLS_ASSIGN_OR_RETURN(TensorView logits_v, reference_tensor(ref, "logits", DType::kF32, 2));
  ALLTOOLS_ASSIGN_OR_RETURN(TensorView greedy_v, reference_tensor(ref, "greedy_ids", DType::kI64, 1));
  ALLTOOLS_ASSIGN_OR_RETURN(TensorView steps_v, reference_tensor(ref, "greedy_step_logits", DType::kF32, 2));

  ReferenceCheckReport r;
  r.kernel = std::string(model->kernel_name());
  r.threads = model->threads();
  const std::vector<TokenId> prompt = read_ids(ids_v);
  r.expected = read_ids(greedy_v);
  r.prompt_tokens = static_cast<int>(prompt.size());
  r.vocab = model->info().vocab_size;
  const auto V = static_cast<std::size_t>(r.vocab);
  if (logits_v.info->shape != std::vector<std::int64_t>{r.prompt_tokens, r.vocab} ||
      steps_v.info->shape != std::vector<std::int64_t>{static_cast<std::int64_t>(r.expected.size()), r.vocab}) {
    return make_error(ErrorCode::kInvalidArgument, reference_path + ": logits shapes do not match input_ids, "
                                                       "greedy_ids and the model's vocabulary (" +
                                                       std::to_string(r.vocab) + ")");
  }

  // 1. Prompt: logits at every position in one batched prefill.
  ALLTOOLS_ASSIGN_OR_RETURN(std::vector<float> logits, model->append_with_logits(prompt));
  r.prefill_seconds = model->last_timings().prefill_seconds;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    r.max_abs_reference = std::max(r.max_abs_reference, std::fabs(static_cast<double>(read_f32(logits_v, i))));
    const double err = std::fabs(static_cast<double>(logits[i]) - read_f32(logits_v, i));
    if (!(err <= r.max_abs_error)) {  // also catches NaN
      r.max_abs_error = std::isnan(err) ? INFINITY : err;
      r.worst_position = static_cast<int>(i / V);
    }
  }

  // 2. Greedy continuation through generate() (decode path, KV cache).
  GenerateRequest request;
  request.max_new_tokens = static_cast<int>(r.expected.size());
  ALLTOOLS_ASSIGN_OR_RETURN(GenerateResult gen, model->generate(request, nullptr));
  r.actual = gen.tokens;
  r.decode_seconds = gen.timings.decode_seconds;
  while (r.greedy_matched < static_cast<int>(std::min(r.actual.size(), r.expected.size())) &&
         r.actual[r.greedy_matched] == r.expected[r.greedy_matched]) {
    ++r.greedy_matched;
  }

  // 3. Rewind to the prompt and feed the reference's greedy ids one at a time: logits after each step.
  ALLTOOLS_RETURN_IF_ERROR(model->rewind(r.prompt_tokens));
  for (std::size_t step = 0; step < r.expected.size(); ++step) {
    const TokenId t = r.expected[step];
    ALLTOOLS_RETURN_IF_ERROR(model->append(std::span<const TokenId>(&t, 1)));
    ALLTOOLS_ASSIGN_OR_RETURN(std::vector<float> step_logits, model->last_logits());
    for (std::size_t i = 0; i < V; ++i) {
      const double err = std::fabs(static_cast<double>(step_logits[i]) - read_f32(steps_v, step * V + i));
      if (!(err <= r.max_step_error)) r.max_step_error = std::isnan(err) ? INFINITY : err;
    }
  }

  const int need = options.min_greedy_match < 0 ? static_cast<int>(r.expected.size())
                                                : std::min<int>(options.min_greedy_match, r.expected.size());
  r.tolerance = options.relative ? options.tolerance * r.max_abs_reference : options.tolerance;
  r.passed = r.max_abs_error <= r.tolerance && r.max_step_error <= r.tolerance && r.greedy_matched >= need;
  return r;
}

}  // namespace alltools::model
