#include "bench/peers/peer_export.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/peers/gguf_writer.h"
#include "model/cpu/kernels.h"
#include "model/cpu/thread_pool.h"
#include "model/cpu/weights.h"

namespace alltools::bench {
namespace {

using model::ModelConfig;

// One tensor in both namings. rows == 1: a vector of `cols`.
struct TensorName {
  std::string hf, gguf;
  std::int64_t rows, cols;
};

// GLM-4 (HF Glm4ForCausalLM) tensors and their llama.cpp names (llama-arch.cpp, LLM_ARCH_GLM4; the fused
// gate_up matrix is llama.cpp's ffn_up with 2 x ffn rows, gate first, as its SWIGLU expects).
std::vector<TensorName> glm4_tensors(const ModelConfig& c) {
  const std::int64_t H = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), F = c.intermediate_size,
                     V = c.vocab_size;
  std::vector<TensorName> t = {{"model.embed_tokens.weight", "token_embd.weight", V, H}};
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string hf = "model.layers." + std::to_string(i) + ".", gg = "blk." + std::to_string(i) + ".";
    t.push_back({hf + "input_layernorm.weight", gg + "attn_norm.weight", 1, H});
    t.push_back({hf + "self_attn.q_proj.weight", gg + "attn_q.weight", Q, H});
    t.push_back({hf + "self_attn.k_proj.weight", gg + "attn_k.weight", KV, H});
    t.push_back({hf + "self_attn.v_proj.weight", gg + "attn_v.weight", KV, H});
    if (c.qkv_bias) {
      t.push_back({hf + "self_attn.q_proj.bias", gg + "attn_q.bias", 1, Q});
      t.push_back({hf + "self_attn.k_proj.bias", gg + "attn_k.bias", 1, KV});
      t.push_back({hf + "self_attn.v_proj.bias", gg + "attn_v.bias", 1, KV});
    }
    t.push_back({hf + "self_attn.o_proj.weight", gg + "attn_output.weight", H, Q});
    t.push_back({hf + "post_self_attn_layernorm.weight", gg + "post_attention_norm.weight", 1, H});
    t.push_back({hf + "post_attention_layernorm.weight", gg + "ffn_norm.weight", 1, H});
    t.push_back({hf + "mlp.gate_up_proj.weight", gg + "ffn_up.weight", 2 * F, H});
    t.push_back({hf + "mlp.down_proj.weight", gg + "ffn_down.weight", H, F});
    t.push_back({hf + "post_mlp_layernorm.weight", gg + "post_ffw_norm.weight", 1, H});
  }
  t.push_back({"model.norm.weight", "output_norm.weight", 1, H});
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", "output.weight", V, H});
  return t;
}

std::vector<std::int64_t> hf_shape(const TensorName& t) {
  return t.rows == 1 ? std::vector<std::int64_t>{t.cols} : std::vector<std::int64_t>{t.rows, t.cols};
}

void describe_gguf(GgufWriter& w, const ModelConfig& c, const std::vector<TensorName>& tensors, bool q8) {
  w.add_string("general.architecture", "glm4");
  w.add_string("general.name", q8 ? "alltools-synthetic-glm4-q8_0" : "alltools-synthetic-glm4-bf16");
  w.add_u32("general.file_type", q8 ? 7 : 32);  // LLAMA_FTYPE_MOSTLY_Q8_0 / _BF16
  w.add_u32("general.quantization_version", 2);
  w.add_u32("glm4.context_length", static_cast<std::uint32_t>(c.max_context));
  w.add_u32("glm4.embedding_length", static_cast<std::uint32_t>(c.hidden_size));
  w.add_u32("glm4.block_count", static_cast<std::uint32_t>(c.num_layers));
  w.add_u32("glm4.feed_forward_length", static_cast<std::uint32_t>(c.intermediate_size));
  w.add_u32("glm4.attention.head_count", static_cast<std::uint32_t>(c.num_heads));
  w.add_u32("glm4.attention.head_count_kv", static_cast<std::uint32_t>(c.num_kv_heads));
  w.add_u32("glm4.attention.key_length", static_cast<std::uint32_t>(c.head_dim));
  w.add_u32("glm4.attention.value_length", static_cast<std::uint32_t>(c.head_dim));
  // GLM-4 rotates the first rotary_dim dims of each head in adjacent pairs: llama.cpp's "norm" rope for glm4.
  w.add_u32("glm4.rope.dimension_count", static_cast<std::uint32_t>(c.rotary_dim));
  w.add_f32("glm4.rope.freq_base", static_cast<float>(c.rope_theta));
  w.add_f32("glm4.attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_eps));
  w.add_u32("glm4.vocab_size", static_cast<std::uint32_t>(c.vocab_size));
  // A placeholder vocabulary (SentencePiece-style, so no merges are needed): <unk>, <s>, </s>, the 256 byte
  // tokens, then "t<id>". The benchmark feeds token ids; node-llama-cpp tokenizes a few strings when it loads
  // a model, which llama.cpp's "no vocab" mode does not allow.
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<std::int32_t> types = {2, 3, 3};  // llama_token_type: unknown, control, control
  for (int b = 0; b < 256 && static_cast<int>(tokens.size()) < c.vocab_size; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    tokens.push_back(name);
    types.push_back(6);  // byte
  }
  while (static_cast<int>(tokens.size()) < c.vocab_size) {
    tokens.push_back("t" + std::to_string(tokens.size()));
    types.push_back(1);  // normal
  }
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_i32_array("tokenizer.ggml.token_type", types);
  for (const TensorName& t : tensors) {
    const GgmlType type = t.rows == 1 ? GgmlType::kF32 : q8 ? GgmlType::kQ8_0 : GgmlType::kBF16;
    w.add_tensor(t.gguf, type, t.rows, t.cols);
  }
}

std::string config_json(const ModelConfig& c) {
  nlohmann::json j = {
      {"architectures", {"Glm4ForCausalLM"}},
      {"model_type", "glm4"},
      {"attention_bias", c.qkv_bias},
      {"head_dim", c.head_dim},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"max_position_embeddings", c.max_context},
      {"num_attention_heads", c.num_heads},
      {"num_hidden_layers", c.num_layers},
      {"num_key_value_heads", c.num_kv_heads},
      {"partial_rotary_factor", static_cast<double>(c.rotary_dim) / c.head_dim},
      {"rms_norm_eps", c.rms_eps},
      {"rope_theta", c.rope_theta},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"vocab_size", c.vocab_size},
  };
  return j.dump(2) + "\n";
}

// The safetensors header for bf16 matrices and vectors in `tensors` order, padded to 8 bytes.
std::string safetensors_header(const std::vector<TensorName>& tensors) {
  nlohmann::ordered_json h;
  std::uint64_t offset = 0;
  for (const TensorName& t : tensors) {
    const std::uint64_t bytes = 2 * static_cast<std::uint64_t>(t.rows) * t.cols;
    h[t.hf] = {{"dtype", "BF16"}, {"shape", hf_shape(t)}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  h["__metadata__"] = {{"format", "pt"}};
  std::string s = h.dump();
  s.resize((s.size() + 7) / 8 * 8, ' ');
  return s;
}

Status write_all(std::ofstream& out, const std::string& path, const void* p, std::size_t n) {
  out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
  if (!out) return make_error(ErrorCode::kIo, path + ": write failed: " + std::strerror(errno));
  return ok_status();
}

}  // namespace

Status export_peer_files(const std::string& synthetic, const std::string& dir) {
  using namespace model;
  ALLTOOLS_ASSIGN_OR_RETURN(SyntheticSpec spec, parse_synthetic_spec(synthetic));
  const ModelConfig config = synthetic_config(spec);
  const std::vector<TensorName> tensors = glm4_tensors(config);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "ours", ec);
  if (ec) return make_error(ErrorCode::kIo, dir + ": cannot create: " + ec.message());

  const std::string config_path = (fs::path(dir) / "ours" / "config.json").string();
  std::ofstream config_out(config_path, std::ios::binary | std::ios::trunc);
  const std::string config_text = config_json(config);
  ALLTOOLS_RETURN_IF_ERROR(write_all(config_out, config_path, config_text.data(), config_text.size()));

  const std::string st_path = (fs::path(dir) / "ours" / "model.safetensors").string();
  std::ofstream st(st_path, std::ios::binary | std::ios::trunc);
  const std::string header = safetensors_header(tensors);
  const std::uint64_t header_size = header.size();
  ALLTOOLS_RETURN_IF_ERROR(write_all(st, st_path, &header_size, 8));
  ALLTOOLS_RETURN_IF_ERROR(write_all(st, st_path, header.data(), header.size()));

  GgufWriter bf16((fs::path(dir) / "glm4-bf16.gguf").string());
  GgufWriter q8((fs::path(dir) / "glm4-q8_0.gguf").string());
  describe_gguf(bf16, config, tensors, false);
  describe_gguf(q8, config, tensors, true);
  ALLTOOLS_RETURN_IF_ERROR(bf16.begin_data());
  ALLTOOLS_RETURN_IF_ERROR(q8.begin_data());

  cpu::ThreadPool pool(cpu::available_cpus());
  cpu::SyntheticSource source(config, spec.seed, pool);
  std::vector<float> row;
  std::vector<std::uint8_t> packed;
  for (const TensorName& t : tensors) {
    ALLTOOLS_ASSIGN_OR_RETURN(TensorView v, source.get(t.hf, hf_shape(t)));
    ALLTOOLS_RETURN_IF_ERROR(write_all(st, st_path, v.data.data(), v.data.size()));
    const auto* h = reinterpret_cast<const std::uint16_t*>(v.data.data());
    if (t.rows == 1) {  // vectors stay f32 in both GGUF files
      row.resize(static_cast<std::size_t>(t.cols));
      for (std::int64_t k = 0; k < t.cols; ++k) row[k] = cpu::bf16_to_f32(h[k]);
      const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(row.data()),
                                                4 * row.size());
      ALLTOOLS_RETURN_IF_ERROR(bf16.write(bytes));
      ALLTOOLS_RETURN_IF_ERROR(q8.write(bytes));
      continue;
    }
    ALLTOOLS_RETURN_IF_ERROR(bf16.write({reinterpret_cast<const std::uint8_t*>(h), v.data.size()}));
    const std::uint64_t row_bytes = ggml_tensor_bytes(GgmlType::kQ8_0, 1, t.cols);
    packed.resize(static_cast<std::size_t>(row_bytes * t.rows));
    pool.parallel_for(static_cast<int>(t.rows), 64, [&](int r0, int r1) {
      std::vector<float> x(static_cast<std::size_t>(t.cols));
      for (int r = r0; r < r1; ++r) {
        const std::uint16_t* src = h + static_cast<std::size_t>(r) * t.cols;
        for (std::int64_t k = 0; k < t.cols; ++k) x[k] = cpu::bf16_to_f32(src[k]);
        quantize_q8_0(x, packed.data() + static_cast<std::size_t>(r) * row_bytes);
      }
    });
    ALLTOOLS_RETURN_IF_ERROR(q8.write(packed));
  }
  st.close();
  if (!st) return make_error(ErrorCode::kIo, st_path + ": close failed");
  ALLTOOLS_RETURN_IF_ERROR(bf16.finish());
  return q8.finish();
}

}  // namespace alltools::bench
