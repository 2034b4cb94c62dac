#include "model/loader/model_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace alltools::model {
namespace {

using nlohmann::json;

class Fields {
 public:
  Fields(const json& j, std::string_view label) : j_(j), label_(label) {}

  Error missing(std::string_view key) const {
    return make_error(ErrorCode::kParse, std::string(label_) + ": missing or invalid \"" + std::string(key) + "\"");
  }
  // A positive integer no larger than kMaxModelDim.
  Result<int> dim(std::string_view key) const {
    const auto it = j_.find(key);
    if (it == j_.end() || !it->is_number_integer()) return missing(key);
    const auto v = it->get<long long>();
    if (v <= 0 || v > kMaxModelDim) {
      return make_error(ErrorCode::kParse, std::string(label_) + ": \"" + std::string(key) + "\" = " +
                                               std::to_string(v) + " is out of range");
    }
    return static_cast<int>(v);
  }
  Result<int> dim_or(std::string_view key, int fallback) const {
    return j_.contains(key) && !j_.at(key).is_null() ? dim(key) : Result<int>(fallback);
  }
  Result<double> number_or(std::string_view key, double fallback) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_number()) return missing(key);
    return it->get<double>();
  }
  bool flag_or(std::string_view key, bool fallback) const {
    const auto it = j_.find(key);
    return it != j_.end() && it->is_boolean() ? it->get<bool>() : fallback;
  }

 private:
  const json& j_;
  std::string_view label_;
};

std::vector<int> eos_ids(const json& j) {
  std::vector<int> ids;
  const auto it = j.find("eos_token_id");
  if (it == j.end()) return ids;
  if (it->is_number_integer()) ids.push_back(it->get<int>());
  if (it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_number_integer()) ids.push_back(v.get<int>());
    }
  }
  return ids;
}

Result<ModelConfig> parse_chatglm(const json& j, std::string_view label) {
  const Fields f(j, label);
  ModelConfig c;
  c.arch = Architecture::kChatGlm;
  const auto unsupported = [&](const std::string& what) {
    return make_error(ErrorCode::kUnsupported, std::string(label) + ": chatglm variant with " + what +
                                                   " is not supported (GLM-4 uses RMSNorm, post_layer_norm, no "
                                                   "linear bias, no post-layernorm residual)");
  };
  if (!f.flag_or("rmsnorm", true)) return unsupported("rmsnorm=false");
  if (!f.flag_or("post_layer_norm", true)) return unsupported("post_layer_norm=false");
  if (f.flag_or("add_bias_linear", false)) return unsupported("add_bias_linear=true");
  if (f.flag_or("apply_residual_connection_post_layernorm", false)) {
    return unsupported("apply_residual_connection_post_layernorm=true");
  }
  ALLTOOLS_ASSIGN_OR_RETURN(c.num_layers, f.dim("num_layers"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.hidden_size, f.dim("hidden_size"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.intermediate_size, f.dim("ffn_hidden_size"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.num_heads, f.dim("num_attention_heads"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.head_dim, f.dim_or("kv_channels", c.hidden_size / c.num_heads));
  c.num_kv_heads = c.num_heads;
  if (f.flag_or("multi_query_attention", false)) {
    ALLTOOLS_ASSIGN_OR_RETURN(c.num_kv_heads, f.dim("multi_query_group_num"));
  }
  ALLTOOLS_ASSIGN_OR_RETURN(c.vocab_size, f.dim("padded_vocab_size"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.rms_eps, f.number_or("layernorm_epsilon", 1e-5));
  ALLTOOLS_ASSIGN_OR_RETURN(double rope_ratio, f.number_or("rope_ratio", 1.0));
  c.rope_theta = 10000.0 * rope_ratio;
  c.rotary_dim = c.head_dim / 2;
  c.qkv_bias = f.flag_or("add_qkv_bias", false);
  c.tie_word_embeddings = f.flag_or("tie_word_embeddings", false);
  ALLTOOLS_ASSIGN_OR_RETURN(c.max_context, f.dim_or("seq_length", 8192));
  return c;
}

Result<ModelConfig> parse_hf(const json& j, std::string_view label, Architecture arch) {
  const Fields f(j, label);
  ModelConfig c;
  c.arch = arch;
  ALLTOOLS_ASSIGN_OR_RETURN(c.num_layers, f.dim("num_hidden_layers"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.hidden_size, f.dim("hidden_size"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.intermediate_size, f.dim("intermediate_size"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.num_heads, f.dim("num_attention_heads"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.num_kv_heads, f.dim_or("num_key_value_heads", c.num_heads));
  ALLTOOLS_ASSIGN_OR_RETURN(c.head_dim, f.dim_or("head_dim", c.hidden_size / c.num_heads));
  ALLTOOLS_ASSIGN_OR_RETURN(c.vocab_size, f.dim("vocab_size"));
  ALLTOOLS_ASSIGN_OR_RETURN(c.rms_eps, f.number_or("rms_norm_eps", arch == Architecture::kGlm4 ? 1e-5 : 1.5625e-7));
  // rope_theta / partial_rotary_factor: top level, or inside rope_parameters (transformers >= 5).
  double theta = 10000.0;
  double partial = 0.5;
  if (const auto rp = j.find("rope_parameters"); rp != j.end() && rp->is_object()) {
    const Fields r(*rp, label);
    ALLTOOLS_ASSIGN_OR_RETURN(theta, r.number_or("rope_theta", theta));
    ALLTOOLS_ASSIGN_OR_RETURN(partial, r.number_or("partial_rotary_factor", partial));
    if (const auto type = rp->find("rope_type");
        type != rp->end() && type->is_string() && type->get<std::string>() != "default") {
      return make_error(ErrorCode::kUnsupported,
                        std::string(label) + ": rope_type '" + type->get<std::string>() + "' is not supported");
    }
  }
  ALLTOOLS_ASSIGN_OR_RETURN(c.rope_theta, f.number_or("rope_theta", theta));
  ALLTOOLS_ASSIGN_OR_RETURN(partial, f.number_or("partial_rotary_factor", partial));
  if (!(partial > 0.0 && partial <= 1.0)) {
    return make_error(ErrorCode::kParse, std::string(label) + ": partial_rotary_factor must be in (0, 1]");
  }
  c.rotary_dim = static_cast<int>(c.head_dim * partial);
  c.qkv_bias = f.flag_or("attention_bias", true);
  c.tie_word_embeddings = f.flag_or("tie_word_embeddings", false);
  ALLTOOLS_ASSIGN_OR_RETURN(c.max_context, f.dim_or("max_position_embeddings", 8192));
  return c;
}

}  // namespace

std::string_view architecture_name(Architecture arch) {
  switch (arch) {
    case Architecture::kChatGlm: return "chatglm";
    case Architecture::kGlm: return "glm";
    case Architecture::kGlm4: return "glm4";
  }
  return "unknown";
}

Result<ModelConfig> parse_model_config(std::string_view json_text, std::string_view label) {
  const json j = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kParse, std::string(label) + ": not a JSON object");
  }
  const auto type_it = j.find("model_type");
  if (type_it == j.end() || !type_it->is_string()) {
    return make_error(ErrorCode::kParse, std::string(label) + ": missing \"model_type\"");
  }
  const std::string type = type_it->get<std::string>();
  Result<ModelConfig> parsed = make_error(ErrorCode::kInternal, "unset");
  if (type == "chatglm") {
    parsed = parse_chatglm(j, label);
  } else if (type == "glm") {
    parsed = parse_hf(j, label, Architecture::kGlm);
  } else if (type == "glm4") {
    parsed = parse_hf(j, label, Architecture::kGlm4);
  } else {
    return make_error(ErrorCode::kUnsupported, std::string(label) + ": unknown model_type '" + type +
                                                   "' (supported: chatglm, glm, glm4)");
  }
  if (!parsed.ok()) return parsed;
  ModelConfig c = std::move(parsed).value();
  c.eos_token_ids = eos_ids(j);
  for (const char* key : {"dtype", "torch_dtype"}) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_string() && it->get<std::string>() == "bfloat16") c.rope_inv_freq_bf16 = true;
  }
  const auto bad = [&](const std::string& what) {
    return make_error(ErrorCode::kParse, std::string(label) + ": " + what);
  };
  if (c.num_heads % c.num_kv_heads != 0) return bad("num_attention_heads is not a multiple of the kv heads");
  if (c.rotary_dim <= 0 || c.rotary_dim % 2 != 0 || c.rotary_dim > c.head_dim) {
    return bad("rotary dims " + std::to_string(c.rotary_dim) + " must be even and within head_dim");
  }
  if (!(c.rope_theta > 0.0)) return bad("rope base must be positive");
  if (!(c.rms_eps >= 0.0)) return bad("rms eps must be non-negative");
  if (static_cast<long long>(c.num_heads) * c.head_dim > kMaxModelDim) return bad("heads * head_dim too large");
  return c;
}

Result<ModelConfig> load_model_config(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_model_config(ss.str(), path);
}

}  // namespace alltools::model
