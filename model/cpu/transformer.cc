#include "model/cpu/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace alltools::model::cpu {
namespace {

constexpr int kRowAlign = 16;  // rows per unit when splitting a matrix across threads

void matrix_row_f32(const MatrixRef& m, int r, float* out) {
  const std::size_t base = static_cast<std::size_t>(r) * m.cols;
  switch (m.format) {
    case WeightFormat::kF32:
      std::memcpy(out, static_cast<const float*>(m.data) + base, sizeof(float) * m.cols);
      return;
    case WeightFormat::kBF16:
      for (int k = 0; k < m.cols; ++k) out[k] = bf16_to_f32(static_cast<const std::uint16_t*>(m.data)[base + k]);
      return;
    case WeightFormat::kF16:
      for (int k = 0; k < m.cols; ++k) out[k] = f16_to_f32(static_cast<const std::uint16_t*>(m.data)[base + k]);
      return;
    case WeightFormat::kI8:
      for (int k = 0; k < m.cols; ++k) {
        out[k] = static_cast<float>(static_cast<const std::int8_t*>(m.data)[base + k]) * m.row_scales[r];
      }
      return;
  }
}

}  // namespace

std::vector<float> rope_inv_freq(const ModelConfig& config) {
  std::vector<float> inv;
  const int rot = config.rotary_dim;
  for (int j = 0; j < rot / 2; ++j) {
    // HF computes inv_freq in f32 (then holds it in the model dtype, see ModelConfig::rope_inv_freq_bf16).
    const float f = static_cast<float>(1.0 / std::pow(config.rope_theta, 2.0 * j / rot));
    inv.push_back(config.rope_inv_freq_bf16 ? bf16_to_f32(f32_to_bf16(f)) : f);
  }
  return inv;
}

Transformer::Transformer(ModelConfig config, ModelWeights weights, std::unique_ptr<ThreadPool> pool)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      pool_(std::move(pool)),
      kernels_(best_kernels()) {
  for (float f : rope_inv_freq(config_)) inv_freq_.push_back(f);
  const std::size_t T = kMaxChunkTokens;
  const int H = config_.hidden_size, Q = config_.q_dim(), KV = config_.kv_dim(), F = config_.intermediate_size;
  x_.resize(T * H);
  h_.resize(T * H);
  qkv_.resize(T * (Q + 2 * KV));
  attn_.resize(T * Q);
  o_.resize(T * H);
  gate_up_.resize(T * 2 * F);
  act_.resize(T * F);
  chunk_rows_.reserve(T);
}

Result<KvCache> Transformer::new_cache(int capacity) const {
  return KvCache::create(config_.num_layers, capacity, config_.kv_dim());
}

void Transformer::linear(std::span<const Target> targets, const float* x, int ldx, int tokens, bool per_row, float* y,
                         int ldy) {
  int total = 0;
  for (const auto& t : targets) total += t.matrix->ref.rows;
  const auto matmul = per_row ? kernels_.matvec_batch : kernels_.matmul;
  // The opt-in bf16 path is for chunks of one sequence (prefill), never for per-row-exact batched decode.
  const bool bf16_dot = bf16_dot_ && !per_row && tokens > 1;
  pool_->parallel_for(total, kRowAlign, [&](int begin, int end) {
    int first_row = 0;  // index of the target's first row in the concatenation
    for (const auto& t : targets) {
      const int rows = t.matrix->ref.rows;
      const int lo = std::max(begin, first_row), hi = std::min(end, first_row + rows);
      const auto kernel =
          bf16_dot && t.matrix->ref.format == WeightFormat::kBF16 ? kernels_.matmul_bf16_dot : matmul;
      if (lo < hi) kernel(t.matrix->ref, lo - first_row, hi - first_row, x, ldx, tokens, y + t.column, ldy);
      first_row += rows;
    }
  });
}

void Transformer::rms_norm(const float* x, const std::vector<float>& weight, int tokens, float* out) const {
  const int H = config_.hidden_size;
  for (int t = 0; t < tokens; ++t) {
    const float* xt = x + static_cast<std::size_t>(t) * H;
    float* ot = out + static_cast<std::size_t>(t) * H;
    const double mean = static_cast<double>(kernels_.sum_squares(xt, H)) / H;
    const float inv = static_cast<float>(1.0 / std::sqrt(mean + config_.rms_eps));
    for (int i = 0; i < H; ++i) ot[i] = xt[i] * inv * weight[i];
  }
}

void Transformer::rope(float* qkv, std::span<const Row> rows) const {
  const int hd = config_.head_dim, nh = config_.num_heads, nkv = config_.num_kv_heads;
  const int width = config_.q_dim() + 2 * config_.kv_dim();
  const int pairs = config_.rotary_dim / 2;
  std::vector<float> cos_v(pairs), sin_v(pairs);
  for (std::size_t t = 0; t < rows.size(); ++t) {
    const double pos = rows[t].position;
    for (int j = 0; j < pairs; ++j) {
      cos_v[j] = static_cast<float>(std::cos(pos * inv_freq_[j]));
      sin_v[j] = static_cast<float>(std::sin(pos * inv_freq_[j]));
    }
    float* row = qkv + t * width;
    for (int head = 0; head < nh + nkv; ++head) {  // query heads, then key heads (they follow in the row)
      float* v = row + static_cast<std::size_t>(head) * hd;
      for (int j = 0; j < pairs; ++j) {
        const float a = v[2 * j], b = v[2 * j + 1];
        v[2 * j] = a * cos_v[j] - b * sin_v[j];
        v[2 * j + 1] = b * cos_v[j] + a * sin_v[j];
      }
    }
  }
}

void Transformer::attention(int layer, const float* qkv, std::span<const Row> rows, float* out) {
  const int hd = config_.head_dim, nh = config_.num_heads;
  const int group = nh / config_.num_kv_heads;
  const int Q = config_.q_dim();
  const int width = Q + 2 * config_.kv_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const KernelSet& k = kernels_;
  int longest = 0;
  for (const Row& row : rows) longest = std::max(longest, row.position + 1);
  const int tokens = static_cast<int>(rows.size());
  pool_->parallel_for(tokens * nh, 1, [&](int begin, int end) {
    std::vector<float> scores(static_cast<std::size_t>(longest));
    for (int unit = begin; unit < end; ++unit) {
      const int t = unit / nh, head = unit % nh;
      const int kv_off = (head / group) * hd;
      const int last = rows[t].position;  // causal: positions [0, last]
      KvCache& cache = *rows[t].cache;
      const float* q = qkv + static_cast<std::size_t>(t) * width + static_cast<std::size_t>(head) * hd;
      float max_score = -INFINITY;
      for (int p = 0; p <= last; ++p) {
        scores[p] = k.dot(q, cache.key(layer, p) + kv_off, hd) * scale;
        max_score = std::max(max_score, scores[p]);
      }
      float total = 0.0f;
      for (int p = 0; p <= last; ++p) {
        scores[p] = std::exp(scores[p] - max_score);
        total += scores[p];
      }
      float* o = out + static_cast<std::size_t>(t) * Q + static_cast<std::size_t>(head) * hd;
      std::fill(o, o + hd, 0.0f);
      const float inv_total = 1.0f / total;
      for (int p = 0; p <= last; ++p) k.axpy(scores[p] * inv_total, cache.value(layer, p) + kv_off, o, hd);
    }
  });
}

void Transformer::forward(KvCache& cache, std::span<const TokenId> tokens, int start, Logits mode, float* logits) {
  const int T = static_cast<int>(tokens.size());
  ALLTOOLS_CHECK(T >= 1 && T <= kMaxChunkTokens);
  ALLTOOLS_CHECK(start >= 0 && start + T <= cache.capacity());
  chunk_rows_.clear();
  for (int t = 0; t < T; ++t) chunk_rows_.push_back({tokens[t], &cache, start + t});
  run(chunk_rows_, false, mode, logits);
}

void Transformer::forward_rows(std::span<const Row> rows, float* logits) {
  ALLTOOLS_CHECK(!rows.empty() && rows.size() <= static_cast<std::size_t>(kMaxChunkTokens));
  for (const Row& row : rows) ALLTOOLS_CHECK(row.position >= 0 && row.position < row.cache->capacity());
  run(rows, true, Logits::kAll, logits);
}

void Transformer::run(std::span<const Row> rows, bool per_row, Logits mode, float* logits) {
  const int T = static_cast<int>(rows.size());
  const int H = config_.hidden_size, Q = config_.q_dim(), KV = config_.kv_dim(), F = config_.intermediate_size;
  const int width = Q + 2 * KV;
  const bool glm4 = config_.arch == Architecture::kGlm4;

  for (int t = 0; t < T; ++t) {
    ALLTOOLS_CHECK(rows[t].token >= 0 && rows[t].token < config_.vocab_size);
    matrix_row_f32(weights_.embedding.ref, rows[t].token, x_.data() + static_cast<std::size_t>(t) * H);
  }
  for (int layer = 0; layer < config_.num_layers; ++layer) {
    const LayerWeights& w = weights_.layers[layer];
    // Attention block.
    rms_norm(x_.data(), w.input_norm, T, h_.data());
    std::vector<Target> qkv_targets;
    for (std::size_t i = 0; i < w.qkv.size(); ++i) qkv_targets.push_back({&w.qkv[i], w.qkv_offsets[i]});
    linear(qkv_targets, h_.data(), H, T, per_row, qkv_.data(), width);
    for (int t = 0; t < T; ++t) {
      float* row = qkv_.data() + static_cast<std::size_t>(t) * width;
      for (int i = 0; i < width; ++i) row[i] += w.qkv_bias[i];
    }
    rope(qkv_.data(), rows);
    for (int t = 0; t < T; ++t) {
      const float* row = qkv_.data() + static_cast<std::size_t>(t) * width;
      std::memcpy(rows[t].cache->key(layer, rows[t].position), row + Q, sizeof(float) * KV);
      std::memcpy(rows[t].cache->value(layer, rows[t].position), row + Q + KV, sizeof(float) * KV);
    }
    attention(layer, qkv_.data(), rows, attn_.data());
    const Target o_target[] = {{&w.o, 0}};
    linear(o_target, attn_.data(), Q, T, per_row, o_.data(), H);
    if (glm4) rms_norm(o_.data(), w.post_self_attn_norm, T, o_.data());
    for (std::size_t i = 0; i < static_cast<std::size_t>(T) * H; ++i) x_[i] += o_[i];
    // MLP block: SwiGLU with the gate in the first half of gate_up.
    rms_norm(x_.data(), w.post_attention_norm, T, h_.data());
    const Target gu_target[] = {{&w.gate_up, 0}};
    linear(gu_target, h_.data(), H, T, per_row, gate_up_.data(), 2 * F);
    for (int t = 0; t < T; ++t) {
      const float* gu = gate_up_.data() + static_cast<std::size_t>(t) * 2 * F;
      float* a = act_.data() + static_cast<std::size_t>(t) * F;
      for (int i = 0; i < F; ++i) a[i] = gu[i] / (1.0f + std::exp(-gu[i])) * gu[F + i];
    }
    const Target down_target[] = {{&w.down, 0}};
    linear(down_target, act_.data(), F, T, per_row, o_.data(), H);
    if (glm4) rms_norm(o_.data(), w.post_mlp_norm, T, o_.data());
    for (std::size_t i = 0; i < static_cast<std::size_t>(T) * H; ++i) x_[i] += o_[i];
  }
  if (mode == Logits::kNone) return;
  const int first = mode == Logits::kAll ? 0 : T - 1;
  const int out_rows = T - first;
  rms_norm(x_.data() + static_cast<std::size_t>(first) * H, weights_.final_norm, out_rows, h_.data());
  const Target head_target[] = {{&weights_.lm_head, 0}};
  linear(head_target, h_.data(), H, out_rows, per_row, logits, config_.vocab_size);
}

}  // namespace alltools::model::cpu
