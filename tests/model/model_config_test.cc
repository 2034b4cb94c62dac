#include "model/loader/model_config.h"

#include <gtest/gtest.h>

#include "tests/model/test_paths.h"

namespace alltools::model {
namespace {

using testing::fixture_dir;

TEST(ModelConfig, ReadsHfGlmWithRopeParameters) {
  auto c = load_model_config(fixture_dir("glm-tiny-f32"));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->arch, Architecture::kGlm);
  EXPECT_EQ(c->num_layers, 2);
  EXPECT_EQ(c->num_heads, 4);
  EXPECT_EQ(c->num_kv_heads, 2);
  EXPECT_EQ(c->head_dim, 32);
  EXPECT_EQ(c->rotary_dim, 16);
  EXPECT_EQ(c->vocab_size, 1024);
  EXPECT_DOUBLE_EQ(c->rope_theta, 10000.0);
  EXPECT_FALSE(c->rope_inv_freq_bf16);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int>{1021, 1022}));
}

TEST(ModelConfig, ReadsChatglmLayout) {
  auto c = load_model_config(fixture_dir("glm-tiny-bf16-chatglm"));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->arch, Architecture::kChatGlm);
  EXPECT_EQ(c->intermediate_size, 352);
  EXPECT_EQ(c->num_kv_heads, 2);
  EXPECT_DOUBLE_EQ(c->rope_theta, 5e6);  // 10000 * rope_ratio 500
  EXPECT_EQ(c->rotary_dim, 16);
  EXPECT_TRUE(c->qkv_bias);
  EXPECT_TRUE(c->rope_inv_freq_bf16);
  EXPECT_EQ(c->max_context, 4096);
}

TEST(ModelConfig, ReadsGlm4AndTopLevelRopeTheta) {
  auto c = parse_model_config(R"({"model_type":"glm4","num_hidden_layers":1,"hidden_size":64,
      "intermediate_size":96,"num_attention_heads":4,"num_key_value_heads":1,"vocab_size":50,
      "rope_theta":500.0,"partial_rotary_factor":0.25})", "config.json");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->arch, Architecture::kGlm4);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->rotary_dim, 4);
  EXPECT_DOUBLE_EQ(c->rope_theta, 500.0);
  EXPECT_DOUBLE_EQ(c->rms_eps, 1e-5);
}

TEST(ModelConfig, RejectsUnknownModelType) {
  auto c = parse_model_config(R"({"model_type":"llama"})", "dir/config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(c.error().message.find("dir/config.json"), std::string::npos);
  EXPECT_NE(c.error().message.find("'llama'"), std::string::npos);
}

TEST(ModelConfig, RejectsMissingAndInvalidFields) {
  auto missing = parse_model_config(R"({"model_type":"glm","hidden_size":64})", "config.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("num_hidden_layers"), std::string::npos) << missing.error();
  auto negative = parse_model_config(R"({"model_type":"glm","num_hidden_layers":-2})", "config.json");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("out of range"), std::string::npos) << negative.error();
  auto heads = parse_model_config(R"({"model_type":"glm","num_hidden_layers":1,"hidden_size":60,
      "intermediate_size":8,"num_attention_heads":6,"num_key_value_heads":4,"vocab_size":5})", "config.json");
  ASSERT_FALSE(heads.ok());
  EXPECT_NE(heads.error().message.find("multiple"), std::string::npos) << heads.error();
  EXPECT_FALSE(parse_model_config("not json", "config.json").ok());
}

TEST(ModelConfig, RejectsChatglmVariantsNotImplemented) {
  auto c = parse_model_config(R"({"model_type":"chatglm","rmsnorm":false})", "config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace alltools::model
