// ModelConfig: the shapes and constants of a GLM-family model, read from config.json in one of three layouts
// (../shared/docs/glm4-protocol.md §6): original `chatglm` (glm-4-9b-chat), HF `glm` (glm-4-9b-chat-hf) and
// HF `glm4` (GLM-4-0414, two extra norms per layer).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace alltools::model {

enum class Architecture { kChatGlm, kGlm, kGlm4 };
std::string_view architecture_name(Architecture arch);

inline constexpr int kMaxModelDim = 1 << 20;  // sanity bound on every size in config.json

struct ModelConfig {
  Architecture arch = Architecture::kGlm;
  int vocab_size = 0;         // rows of embedding and lm_head
  int hidden_size = 0;
  int intermediate_size = 0;  // ffn width; gate_up has 2x this many rows
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int rotary_dim = 0;         // leading dims of each head that get RoPE (even)
  double rope_theta = 10000.0;
  // HF transformers holds RoPE's inv_freq buffer in the model's dtype, so a bf16 checkpoint (config "dtype" or
  // "torch_dtype" = "bfloat16") rotates with bf16-rounded frequencies; matching that reproduces HF's logits.
  bool rope_inv_freq_bf16 = false;
  double rms_eps = 1.5625e-7;
  bool qkv_bias = true;
  bool tie_word_embeddings = false;
  int max_context = 0;        // max_position_embeddings / seq_length
  std::vector<int> eos_token_ids;

  int q_dim() const { return num_heads * head_dim; }
  int kv_dim() const { return num_kv_heads * head_dim; }
};

// Parses config.json text. `label` names the file in errors. Errors: kParse (bad JSON, missing/invalid field),
// kUnsupported (unknown model_type or a variant this runtime does not implement).
Result<ModelConfig> parse_model_config(std::string_view json_text, std::string_view label);
// Reads `dir`/config.json.
Result<ModelConfig> load_model_config(const std::string& dir);

}  // namespace alltools::model
