// The embedded default model in models/glm4-alltools-tiny: the files the runtime loads by default.
// Goldens come from training/ (tokenizer_golden.py: the Python encoder the model was trained with; export.py:
// logits of an independent float64 NumPy forward and greedy ids on the full All Tools system prompt).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cpu/cpu_model.h"
#include "model/cpu/reference_check.h"
#include "model/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using alltools::model::TokenId;

const fs::path kModelDir = fs::path(ALLTOOLS_SOURCE_DIR) / "models" / "glm4-alltools-tiny";

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing " << path;
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

TEST(EmbeddedModel, TokenizerHasGlm4SpecialsAfterTheRanks) {
  auto tok = alltools::model::load_tokenizer((kModelDir / "tokenizer.model").string());
  ASSERT_TRUE(tok.ok()) << tok.error();
  EXPECT_EQ((*tok)->vocab_size(), 4096);
  EXPECT_EQ((*tok)->special_id("<|endoftext|>"), 4082);
  EXPECT_EQ((*tok)->special_id("[gMASK]"), 4084);
  EXPECT_EQ((*tok)->special_id("<|assistant|>"), 4090);
  EXPECT_EQ((*tok)->special_id("<|end_of_video|>"), 4095);
}

TEST(EmbeddedModel, TokenizerReproducesTrainingIds) {
  auto tok = alltools::model::load_tokenizer((kModelDir / "tokenizer.model").string());
  ASSERT_TRUE(tok.ok()) << tok.error();
  const fs::path golden = fs::path(ALLTOOLS_SOURCE_DIR) / "tests" / "e2e_model" / "tokenizer_golden.jsonl";
  std::ifstream in(golden);
  ASSERT_TRUE(in.good()) << "missing " << golden;
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    const std::string text = row["text"];
    const std::vector<TokenId> expected = row["ids"].get<std::vector<TokenId>>();
    EXPECT_EQ((*tok)->encode(text), expected) << "line " << lines + 1 << ": " << text.substr(0, 80);
    EXPECT_EQ((*tok)->decode_bytes(expected), text) << "line " << lines + 1;
    ++lines;
  }
  EXPECT_GE(lines, 20);
}

TEST(EmbeddedModel, CpuBackendMatchesReferenceLogits) {
  alltools::model::ReferenceCheckOptions options;
  options.model.threads = 1;
  auto report = alltools::model::run_reference_check(kModelDir.string(), (kModelDir / "reference.safetensors").string(),
                                                     options);
  ASSERT_TRUE(report.ok()) << report.error();
  EXPECT_LT(report->max_abs_error, 1e-3);
  EXPECT_LT(report->max_step_error, 1e-3);
  EXPECT_EQ(report->actual, report->expected);
  EXPECT_TRUE(report->passed);
}

TEST(EmbeddedModel, GreedyOnFullAllToolsPromptMatchesTraining) {
  const auto ref = read_json(kModelDir / "reference.json");
  ASSERT_TRUE(ref.contains("full_prompt_ids")) << "reference.json lacks full_prompt_ids";
  const std::vector<TokenId> prompt = ref["full_prompt_ids"].get<std::vector<TokenId>>();
  const std::vector<TokenId> expected = ref["full_prompt_greedy_ids"].get<std::vector<TokenId>>();
  alltools::model::CpuModelOptions options;
  options.threads = 1;
  options.max_context = 1024;
  auto model = alltools::model::load_cpu_model(kModelDir.string(), options);
  ASSERT_TRUE(model.ok()) << model.error();
  const auto appended = (*model)->append(prompt);
  ASSERT_TRUE(appended.ok()) << appended.error();
  alltools::model::GenerateRequest request;
  request.stop_ids = ref["stop_ids"].get<std::vector<TokenId>>();
  request.max_new_tokens = static_cast<int>(expected.size());
  auto result = (*model)->generate(request, [](TokenId) { return true; });
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->tokens, expected) << "expected text: " << ref["full_prompt_greedy_text"].get<std::string>();
}

}  // namespace
