#include "model/cpu/weights.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "model/cpu/thread_pool.h"

namespace alltools::model::cpu {
namespace {

using WeightType = CpuModelOptions::WeightType;

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}


constexpr int kMadvCollapse = 25;  // MADV_COLLAPSE (Linux 6.1), absent from older libc headers

// Zeroed anonymous memory for `bytes`, starting on a 2 MiB boundary and advised for transparent huge pages.
// Decode streams every matrix once per token; through 4 KiB pages the page walks cost a sizeable share of the
// bandwidth (bench decode, GLM-4-9B shapes x 4 layers, bf16, 2 threads: 10.5 tok/s reading the checkpoint's
// mapping, 12.4-12.7 from a huge-page copy, same hour). Without THP the memory works in 4 KiB pages.
// Below 2 MiB (norms, biases, small models) plain heap memory: a huge page would waste most of itself.
Result<std::shared_ptr<std::byte>> huge_alloc(std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (bytes < kHuge) return std::shared_ptr<std::byte>(new std::byte[bytes + 1](), std::default_delete<std::byte[]>());
  const std::size_t length = (std::max<std::size_t>(bytes, 1) + kHuge - 1) / kHuge * kHuge + kHuge;
  void* raw = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    return make_error(ErrorCode::kResourceExhausted,
                      "cannot allocate " + std::to_string(bytes >> 20) + " MiB for weights: " + std::strerror(errno));
  }
  const std::uintptr_t base = (reinterpret_cast<std::uintptr_t>(raw) + kHuge - 1) / kHuge * kHuge;
  ::madvise(reinterpret_cast<void*>(base), length - (base - reinterpret_cast<std::uintptr_t>(raw)), MADV_HUGEPAGE);
  return std::shared_ptr<std::byte>(reinterpret_cast<std::byte*>(base), [raw, length](std::byte*) {
    ::munmap(raw, length);
  });
}

// huge_alloc for n elements of T (trivially constructible; zero-filled).
template <class T>
Result<std::shared_ptr<T>> owned(std::size_t n) {
  ALLTOOLS_ASSIGN_OR_RETURN(std::shared_ptr<std::byte> mem, huge_alloc(n * sizeof(T)));
  return std::shared_ptr<T>(mem, reinterpret_cast<T*>(mem.get()));
}

// A huge-page copy of [src, src + bytes), filled by the pool's threads; the copied range's file pages are then
// dropped from this process (the page cache keeps them while memory allows).
Result<std::shared_ptr<std::byte>> huge_page_copy(const std::byte* src, std::size_t bytes, ThreadPool& pool) {
  ALLTOOLS_ASSIGN_OR_RETURN(std::shared_ptr<std::byte> dst, huge_alloc(bytes));
  constexpr std::size_t kChunk = std::size_t{2} << 20;
  const int chunks = static_cast<int>((bytes + kChunk - 1) / kChunk);
  pool.parallel_for(chunks, 1, [&](int c0, int c1) {
    for (int c = c0; c < c1; ++c) {
      const std::size_t off = static_cast<std::size_t>(c) * kChunk;
      std::memcpy(dst.get() + off, src + off, std::min(kChunk, bytes - off));
    }
  });
  // Faults under memory pressure may have fallen back to 4 KiB pages; ask for the collapse now (Linux >= 6.1;
  // elsewhere the call fails and the copy stays as it is).
  ::madvise(dst.get(), bytes / kChunk * kChunk, kMadvCollapse);
  constexpr std::uintptr_t kPage = 4096;
  const std::uintptr_t s0 = (reinterpret_cast<std::uintptr_t>(src) + kPage - 1) / kPage * kPage;
  const std::uintptr_t s1 = (reinterpret_cast<std::uintptr_t>(src) + bytes) / kPage * kPage;
  if (s0 < s1) ::madvise(reinterpret_cast<void*>(s0), s1 - s0, MADV_DONTNEED);
  return dst;
}

// Row of `cols` elements starting at element `base`, widened to f32.
void row_to_f32(const TensorView& v, std::size_t base, int cols, float* out) {
  const std::byte* p = v.data.data();
  switch (v.info->dtype) {
    case DType::kF32:
      std::memcpy(out, p + 4 * base, 4 * static_cast<std::size_t>(cols));
      return;
    case DType::kBF16:
    case DType::kF16: {
      const bool bf16 = v.info->dtype == DType::kBF16;
      for (int k = 0; k < cols; ++k) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * (base + k), 2);
        out[k] = bf16 ? bf16_to_f32(h) : f16_to_f32(h);
      }
      return;
    }
    default: break;
  }
  ALLTOOLS_CHECK_MSG(false, "row_to_f32(): dtype not validated");
}

class Binder {
 public:
  Binder(TensorSource& source, WeightType type, ThreadPool& pool, bool copy_mapped)
      : source_(source), type_(type), pool_(pool), copy_mapped_(copy_mapped && source.file_backed()) {}

  Result<TensorView> fetch(const std::string& name, const std::vector<std::int64_t>& shape) {
    ALLTOOLS_ASSIGN_OR_RETURN(TensorView v, source_.get(name, shape));
    const DType dt = v.info->dtype;
    if (dt != DType::kF32 && dt != DType::kBF16 && dt != DType::kF16) {
      return make_error(ErrorCode::kUnsupported, v.file + ": tensor '" + name + "' has dtype " +
                                                     std::string(dtype_name(dt)) + " (supported: F32, BF16, F16)");
    }
    if (v.info->shape != shape) {
      return make_error(ErrorCode::kInvalidArgument, v.file + ": tensor '" + name + "' has shape " +
                                                         shape_text(v.info->shape) + ", expected " +
                                                         shape_text(shape) + " from config.json");
    }
    return v;
  }

  Result<std::vector<float>> vector(const std::string& name, std::int64_t n) {
    ALLTOOLS_ASSIGN_OR_RETURN(TensorView v, fetch(name, {n}));
    std::vector<float> out(static_cast<std::size_t>(n));
    row_to_f32(v, 0, static_cast<int>(n), out.data());
    return out;
  }

  // streamed: decode reads the whole matrix every token (everything but an untied embedding).
  Result<Matrix> matrix(const std::string& name, int rows, int cols, bool streamed = true) {
    ALLTOOLS_ASSIGN_OR_RETURN(TensorView v, fetch(name, {rows, cols}));
    Matrix m;
    m.ref.rows = rows;
    m.ref.cols = cols;
    const DType dt = v.info->dtype;
    const std::size_t n = static_cast<std::size_t>(rows) * cols;
    const auto aligned = [&](std::size_t a) { return reinterpret_cast<std::uintptr_t>(v.data.data()) % a == 0; };
    const bool keep_f32 = dt == DType::kF32 && aligned(4) && type_ != WeightType::kBF16 && type_ != WeightType::kInt8;
    const bool keep_bf16 = dt == DType::kBF16 && aligned(2) && type_ != WeightType::kF32 && type_ != WeightType::kInt8;
    const bool keep_f16 = dt == DType::kF16 && aligned(2) && type_ == WeightType::kAsStored;
    if (keep_f32 || keep_bf16 || keep_f16) {
      m.ref.format = keep_f32 ? WeightFormat::kF32 : keep_bf16 ? WeightFormat::kBF16 : WeightFormat::kF16;
      m.ref.data = v.data.data();
      m.owner = v.owner;
      if (copy_mapped_ && streamed) {
        ALLTOOLS_ASSIGN_OR_RETURN(std::shared_ptr<std::byte> copy, huge_page_copy(v.data.data(), v.data.size(), pool_));
        m.ref.data = copy.get();
        m.owner = std::move(copy);
      }
      return m;
    }
    const bool to_bf16 = type_ == WeightType::kBF16 || (type_ == WeightType::kAsStored && dt == DType::kBF16);
    if (type_ == WeightType::kInt8) {
      ALLTOOLS_ASSIGN_OR_RETURN(std::shared_ptr<std::int8_t> q, owned<std::int8_t>(n));
      ALLTOOLS_ASSIGN_OR_RETURN(std::shared_ptr<float> scales, owned<float>(static_cast<std::size_t>(rows)));
      pool_.parallel_for(rows, 1, [&](int r0, int r1) {
        std::vector<float> row(static_cast<std::size_t>(cols));
        for (int r = r0; r < r1; ++r) {
          const std::size_t base = static_cast<std::size_t>(r) * cols;
          row_to_f32(v, base, cols, row.data());
          float amax = 0.0f;
          for (float x : row) amax = std::max(amax, std::fabs(x));
          const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
          const float inv = 1.0f / scale;
          scales.get()[r] = scale;
          // Round to nearest even without a libm call per element: |row * inv| <= 127 < 2^22.
          constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
          for (int k = 0; k < cols; ++k) {
            const float rounded = (row[k] * inv + kRound) - kRound;
            q.get()[base + k] = static_cast<std::int8_t>(std::clamp(rounded, -127.0f, 127.0f));
          }
        }
      });
      m.ref.format = WeightFormat::kI8;
      m.ref.data = q.get();
      m.ref.row_scales = scales.get();
      m.owner = std::make_shared<std::pair<decltype(q), decltype(scales)>>(q, scales);
      return m;
    }
    if (to_bf16) {
      ALLTOOLS_ASSIGN_OR_RETURN(std::shared_ptr<std::uint16_t> b, owned<std::uint16_t>(n));
      pool_.parallel_for(rows, 1, [&](int r0, int r1) {
        std::vector<float> row(static_cast<std::size_t>(cols));
        for (int r = r0; r < r1; ++r) {
          const std::size_t base = static_cast<std::size_t>(r) * cols;
          row_to_f32(v, base, cols, row.data());
          for (int k = 0; k < cols; ++k) b.get()[base + k] = f32_to_bf16(row[k]);
        }
      });
      m.ref.format = WeightFormat::kBF16;
      m.ref.data = b.get();
      m.owner = b;
      return m;
    }
    ALLTOOLS_ASSIGN_OR_RETURN(std::shared_ptr<float> f, owned<float>(n));
    pool_.parallel_for(rows, 1, [&](int r0, int r1) {
      for (int r = r0; r < r1; ++r) {
        row_to_f32(v, static_cast<std::size_t>(r) * cols, cols, f.get() + static_cast<std::size_t>(r) * cols);
      }
    });
    m.ref.format = WeightFormat::kF32;
    m.ref.data = f.get();
    m.owner = f;
    return m;
  }

 private:
  TensorSource& source_;
  WeightType type_;
  ThreadPool& pool_;
  bool copy_mapped_;
};

// Per-layer tensor name: HF layouts use `hf`, the original chatglm layout `chatglm` (doc §6).
std::string layer_tensor(Architecture arch, int layer, const char* hf, const char* chatglm) {
  return arch == Architecture::kChatGlm
             ? "transformer.encoder.layers." + std::to_string(layer) + "." + chatglm
             : "model.layers." + std::to_string(layer) + "." + hf;
}

std::uint64_t format_bytes(WeightFormat f) {
  switch (f) {
    case WeightFormat::kF32: return 4;
    case WeightFormat::kBF16:
    case WeightFormat::kF16: return 2;
    case WeightFormat::kI8: return 1;
  }
  return 0;
}

}  // namespace

std::uint64_t Matrix::bytes() const {
  std::uint64_t b = static_cast<std::uint64_t>(ref.rows) * ref.cols * format_bytes(ref.format);
  if (ref.format == WeightFormat::kI8) b += static_cast<std::uint64_t>(ref.rows) * 4;
  return b;
}

std::uint64_t ModelWeights::matrix_bytes_per_token() const {
  std::uint64_t b = lm_head.bytes() + embedding.bytes() / std::max(1, embedding.ref.rows);
  for (const auto& l : layers) {
    for (const auto& m : l.qkv) b += m.bytes();
    b += l.o.bytes() + l.gate_up.bytes() + l.down.bytes();
  }
  return b;
}

std::uint64_t ModelWeights::total_bytes() const {
  std::uint64_t b = embedding.bytes() + (lm_head.ref.data == embedding.ref.data ? 0 : lm_head.bytes());
  for (const auto& l : layers) {
    for (const auto& m : l.qkv) b += m.bytes();
    b += l.o.bytes() + l.gate_up.bytes() + l.down.bytes();
  }
  return b;
}

Result<ModelWeights> load_weights(const ModelConfig& c, TensorSource& source, CpuModelOptions::WeightType type,
                                  ThreadPool& pool, bool copy_mapped) {
  Binder bind(source, type, pool, copy_mapped);
  const bool chatglm = c.arch == Architecture::kChatGlm;
  const int H = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), F = c.intermediate_size, V = c.vocab_size;
  ModelWeights w;
  const std::string embedding_name =
      chatglm ? "transformer.embedding.word_embeddings.weight" : "model.embed_tokens.weight";
  ALLTOOLS_ASSIGN_OR_RETURN(w.embedding, bind.matrix(embedding_name, V, H, /*streamed=*/c.tie_word_embeddings));
  for (int i = 0; i < c.num_layers; ++i) {
    const auto name = [&](const char* hf, const char* cg) { return layer_tensor(c.arch, i, hf, cg); };
    LayerWeights l;
    ALLTOOLS_ASSIGN_OR_RETURN(l.input_norm, bind.vector(name("input_layernorm.weight", "input_layernorm.weight"), H));
    l.qkv_bias.assign(static_cast<std::size_t>(Q + 2 * KV), 0.0f);
    if (chatglm) {
      ALLTOOLS_ASSIGN_OR_RETURN(Matrix qkv, bind.matrix(name("", "self_attention.query_key_value.weight"), Q + 2 * KV, H));
      l.qkv.push_back(std::move(qkv));
      l.qkv_offsets = {0};
      if (c.qkv_bias) {
        ALLTOOLS_ASSIGN_OR_RETURN(l.qkv_bias, bind.vector(name("", "self_attention.query_key_value.bias"), Q + 2 * KV));
      }
    } else {
      const char* proj[3] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"};
      const int rows[3] = {Q, KV, KV};
      const int offsets[3] = {0, Q, Q + KV};
      for (int p = 0; p < 3; ++p) {
        ALLTOOLS_ASSIGN_OR_RETURN(Matrix m, bind.matrix(name(proj[p], "") + ".weight", rows[p], H));
        l.qkv.push_back(std::move(m));
        l.qkv_offsets.push_back(offsets[p]);
        if (c.qkv_bias) {
          ALLTOOLS_ASSIGN_OR_RETURN(auto bias, bind.vector(name(proj[p], "") + ".bias", rows[p]));
          std::copy(bias.begin(), bias.end(), l.qkv_bias.begin() + offsets[p]);
        }
      }
    }
    ALLTOOLS_ASSIGN_OR_RETURN(l.o, bind.matrix(name("self_attn.o_proj.weight", "self_attention.dense.weight"), H, Q));
    ALLTOOLS_ASSIGN_OR_RETURN(l.post_attention_norm,
                              bind.vector(name("post_attention_layernorm.weight", "post_attention_layernorm.weight"), H));
    ALLTOOLS_ASSIGN_OR_RETURN(l.gate_up, bind.matrix(name("mlp.gate_up_proj.weight", "mlp.dense_h_to_4h.weight"), 2 * F, H));
    ALLTOOLS_ASSIGN_OR_RETURN(l.down, bind.matrix(name("mlp.down_proj.weight", "mlp.dense_4h_to_h.weight"), H, F));
    if (c.arch == Architecture::kGlm4) {
      ALLTOOLS_ASSIGN_OR_RETURN(l.post_self_attn_norm, bind.vector(name("post_self_attn_layernorm.weight", ""), H));
      ALLTOOLS_ASSIGN_OR_RETURN(l.post_mlp_norm, bind.vector(name("post_mlp_layernorm.weight", ""), H));
    }
    w.layers.push_back(std::move(l));
  }
  ALLTOOLS_ASSIGN_OR_RETURN(w.final_norm,
                            bind.vector(chatglm ? "transformer.encoder.final_layernorm.weight" : "model.norm.weight", H));
  if (c.tie_word_embeddings) {
    w.lm_head = w.embedding;
  } else {
    ALLTOOLS_ASSIGN_OR_RETURN(w.lm_head, bind.matrix(chatglm ? "transformer.output_layer.weight" : "lm_head.weight", V, H));
  }
  return w;
}

// ---- synthetic weights ----

Result<TensorView> SyntheticSource::get(const std::string& name, const std::vector<std::int64_t>& shape) {
  auto info = std::make_unique<TensorInfo>();
  info->name = name;
  info->dtype = DType::kBF16;
  info->shape = shape;
  const std::uint64_t n = static_cast<std::uint64_t>(info->numel());
  info->end = n * 2;
  ALLTOOLS_ASSIGN_OR_RETURN(std::shared_ptr<std::uint16_t> data, owned<std::uint16_t>(n));
  // Norm weights are 1; matrices and biases uniform in +-1/sqrt(fan_in) (keeps activations O(1)).
  const bool is_norm = name.find("norm") != std::string::npos;
  const float scale = shape.size() == 2 ? 1.0f / std::sqrt(static_cast<float>(shape[1])) : 0.02f;
  const std::uint64_t stream = seed_ ^ std::hash<std::string>{}(name);
  const std::uint64_t chunks = (n + 4095) / 4096;
  pool_.parallel_for(static_cast<int>(chunks), 1, [&](int c0, int c1) {
    for (std::uint64_t i = static_cast<std::uint64_t>(c0) * 4096; i < std::min<std::uint64_t>(n, c1 * 4096ull); ++i) {
      float value = 1.0f;
      if (!is_norm) {
        std::uint64_t z = stream + (i + 1) * 0x9e3779b97f4a7c15ull;  // splitmix64, counter-based
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        value = scale * (static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f);
      }
      data.get()[i] = f32_to_bf16(value);
    }
  });
  TensorView v;
  v.info = info.get();
  v.data = std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.get()), n * 2);
  v.file = "synthetic";
  v.owner = data;
  infos_.push_back(std::move(info));
  return v;
}

}  // namespace alltools::model::cpu
