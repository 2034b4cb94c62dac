// `alltools check-model`: runs a checkpoint against a reference produced by the HF implementation and reports
// the max abs logit error and whether the greedy continuation matches (exit 0 = pass, 1 = fail, 2 = usage/load).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>

#include "apps/alltools/command.h"
#include "model/cpu/reference_check.h"
#include "model/cuda/cuda_model.h"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: alltools check-model --model DIR [--reference FILE] [--device cpu|cuda] [--dtype stored|f32|bf16|int8]\n"
               "                            [--threads N] [--tolerance X] [--min-greedy N]\n\n"
               "Loads the checkpoint in DIR (config.json: chatglm | glm | glm4; safetensors, sharded or not), runs\n"
               "the reference's input_ids in one prefill and prints the max absolute logit error over every\n"
               "position, then the greedy continuation against greedy_ids and the per-step logit error.\n"
               "  --reference FILE  reference safetensors (default DIR/reference.safetensors)\n"
               "  --device D        cpu (default) or cuda (GPU 0)\n"
               "  --dtype D         weights in memory: stored (default; bf16 stays bf16), f32, bf16, int8\n"
               "  --tolerance X     max abs error allowed (default 1e-3; with int8 the error is only printed).\n"
               "                    CUDA in bf16 (a bf16 checkpoint as stored, or --dtype bf16) computes with bf16\n"
               "                    activations at every matrix product and in prefill attention, as HF does in\n"
               "                    bf16: 8 significant bits, relative rounding 2^-9 per operand, compounding over\n"
               "                    layers. Its default is relative: 3e-2 x the largest |logit| of the reference.\n"
               "  --min-greedy N    leading greedy tokens that must match (default all; 8 with int8)\n"
               "Exit status: 0 pass, 1 error above tolerance or greedy mismatch, 2 bad usage or load failure.\n");
}

std::string ids_text(const std::vector<alltools::model::TokenId>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

int run_check_model(int argc, char** argv) {
  using namespace alltools::model;
  std::string model_dir, reference;
  ReferenceCheckOptions options;
  bool tolerance_set = false, greedy_set = false;
  std::string device = "cpu";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&] { return alltools::app::flag_value(argc, argv, i, "check-model"); };
    const char* v = nullptr;
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "--model") {
      if (!(v = value())) return 2;
      model_dir = v;
    } else if (arg == "--reference") {
      if (!(v = value())) return 2;
      reference = v;
    } else if (arg == "--dtype") {
      if (!(v = value())) return 2;
      auto type = parse_weight_type(v);
      if (!type.ok()) {
        std::fprintf(stderr, "check-model: %s\n", type.error().message.c_str());
        return 2;
      }
      options.model.weights = type.value();
    } else if (arg == "--device") {
      if (!(v = value())) return 2;
      device = v;
      if (alltools::Status s = check_device(device); !s.ok()) {
        std::fprintf(stderr, "check-model: %s\n", s.error().message.c_str());
        return 2;
      }
    } else if (arg == "--threads") {
      if (!(v = value())) return 2;
      options.model.threads = std::atoi(v);
    } else if (arg == "--tolerance") {
      if (!(v = value())) return 2;
      options.tolerance = std::strtod(v, nullptr);
      tolerance_set = true;
    } else if (arg == "--min-greedy") {
      if (!(v = value())) return 2;
      options.min_greedy_match = std::atoi(v);
      greedy_set = true;
    } else {
      std::fprintf(stderr, "check-model: unknown argument '%s'\n\n", arg.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (model_dir.empty()) {
    usage(stderr);
    return 2;
  }
  if (reference.empty()) reference = (std::filesystem::path(model_dir) / "reference.safetensors").string();
  const bool int8 = options.model.weights == CpuModelOptions::WeightType::kInt8;
  if (int8 && !tolerance_set) options.tolerance = std::numeric_limits<double>::infinity();
  if (int8 && !greedy_set) options.min_greedy_match = 8;

  auto opened = open_local_model(model_dir, device, options.model);
  if (!opened.ok()) {
    std::fprintf(stderr, "check-model: %s\n", opened.error().message.c_str());
    return 2;
  }
  // CUDA computes in bf16 unless the weights are f32: a relative tolerance (README, "CUDA backend").
  const bool bf16_compute = opened.value()->compute_type() == "bf16";
  if (bf16_compute && !int8 && !tolerance_set) {
    options.tolerance = 3e-2;
    options.relative = true;
  }
  auto report = run_reference_check(*opened.value(), reference, options);
  if (!report.ok()) {
    std::fprintf(stderr, "check-model: %s\n", report.error().message.c_str());
    return 2;
  }
  const ReferenceCheckReport& r = report.value();
  std::printf("model      %s (dtype %s, kernels %s, %d threads)\n", model_dir.c_str(),
              std::string(weight_type_name(options.model.weights)).c_str(), r.kernel.c_str(), r.threads);
  std::printf("prompt     %d tokens, vocab %d, prefill %.3f s\n", r.prompt_tokens, r.vocab, r.prefill_seconds);
  std::printf("logits     max abs error %.3g (worst at position %d), tolerance %.3g%s; largest |logit| %.3g\n",
              r.max_abs_error, r.worst_position, r.tolerance, options.relative ? " (relative)" : "",
              r.max_abs_reference);
  std::printf("greedy     %d/%zu tokens match (decode %.3f s); step logits max abs error %.3g\n", r.greedy_matched,
              r.expected.size(), r.decode_seconds, r.max_step_error);
  if (r.greedy_matched < static_cast<int>(r.expected.size())) {
    std::printf("  expected %s\n  actual   %s\n", ids_text(r.expected).c_str(), ids_text(r.actual).c_str());
  }
  std::printf("%s\n", r.passed ? "PASS" : "FAIL");
  return r.passed ? 0 : 1;
}

}  // namespace

ALLTOOLS_COMMAND("check-model", "check a checkpoint's logits and greedy tokens against a reference", run_check_model);
