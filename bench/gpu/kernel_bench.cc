// cuda_kernel_bench: where the time of one decode step goes, on GLM-4-9B shapes (hidden 4096, ffn 13696, 32/2
// heads of 128, vocab 151552). Each GEMV is timed alone (median of 30 runs over 4 rotating copies of its weights,
// so nothing is served from the 60 MB L2) and reported as GB/s; then a 40-layer chain of the four layer GEMVs is
// captured as a CUDA graph with and without Programmatic Dependent Launch; then attention at a 2k context, the
// small per-token kernels, greedy sampling and prefill flash attention over 2048 tokens.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "model/cuda/kernels.h"

namespace {

using namespace alltools::model::cuda;

#define CHECK(expr)                                                                   \
  do {                                                                                \
    const cudaError_t e_ = (expr);                                                    \
    if (e_ != cudaSuccess) {                                                          \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(e_)); \
      std::exit(1);                                                                   \
    }                                                                                 \
  } while (0)

void* dev_alloc(std::size_t bytes) {
  void* p = nullptr;
  CHECK(cudaMalloc(&p, bytes));
  // Random-ish bytes: a conversion of random floats is overkill; a pattern that is not zero is enough for timing
  // and keeps bf16/int8 values finite and small.
  std::vector<unsigned char> host(1 << 20);
  for (std::size_t i = 0; i < host.size(); ++i) host[i] = static_cast<unsigned char>((i * 2654435761u) >> 13) & 0x3f;
  for (std::size_t off = 0; off < bytes; off += host.size()) {
    CHECK(cudaMemcpy(static_cast<char*>(p) + off, host.data(), std::min(host.size(), bytes - off), cudaMemcpyHostToDevice));
  }
  return p;
}

template <typename F>
double median_us(F&& run, int reps = 30) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) run(i);
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    CHECK(cudaEventRecord(a));
    run(i);
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float t = 0;
    CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2] * 1000.0;
}

struct Shape {
  const char* name;
  int rows, cols;
  GemvIn in;
  GemvOut out;
};

}  // namespace

int main() {
  const int H = 4096, F = 13696, V = 151552, QKV = 4608, copies = 4;
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device %s, %d SMs, L2 %d MB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
  // Copy bandwidth for reference (bytes read + written).
  {
    const std::size_t n = 1ull << 30;
    void* a = dev_alloc(n);
    void* b = dev_alloc(n);
    const double us = median_us([&](int) { CHECK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice)); }, 10);
    std::printf("copy             %8.1f us  %7.1f GB/s (read + write)\n", us, 2.0 * n / us / 1e3);
    cudaFree(a);
    cudaFree(b);
  }
  float* x = static_cast<float*>(dev_alloc(4 * F));
  float* norm = static_cast<float*>(dev_alloc(4 * F));
  float* bias = static_cast<float*>(dev_alloc(4 * QKV));
  float* y = static_cast<float*>(dev_alloc(4 * static_cast<std::size_t>(V)));
  CHECK(cudaMemset(x, 0, 4 * F));
  CHECK(cudaMemset(norm, 0, 4 * F));
  const Shape shapes[] = {{"qkv  4608x4096 ", QKV, H, GemvIn::kRmsNorm, GemvOut::kBias},
                          {"o    4096x4096 ", H, H, GemvIn::kPlain, GemvOut::kAccumulate},
                          {"gu  27392x4096 ", 2 * F, H, GemvIn::kRmsNorm, GemvOut::kSwiGlu},
                          {"down 4096x13696", H, F, GemvIn::kPlain, GemvOut::kAccumulate},
                          {"lm 151552x4096 ", V, H, GemvIn::kRmsNorm, GemvOut::kStore}};
  for (DevFormat fmt : {DevFormat::kBF16, DevFormat::kI8}) {
    std::vector<std::vector<DevMatrix>> mats;
    double total_bytes = 0, total_us = 0;
    for (const Shape& s : shapes) {
      std::vector<DevMatrix> cs;
      for (int c = 0; c < copies; ++c) {
        DevMatrix m{fmt, s.rows, s.cols, nullptr, nullptr};
        m.data = dev_alloc(static_cast<std::size_t>(s.rows) * s.cols * dev_format_bytes(fmt));
        if (fmt == DevFormat::kI8) {
          float* sc = static_cast<float*>(dev_alloc(4ull * s.rows));
          std::vector<float> ones(s.rows, 1e-3f);
          CHECK(cudaMemcpy(sc, ones.data(), 4ull * s.rows, cudaMemcpyHostToDevice));
          m.scales = sc;
        }
        cs.push_back(m);
      }
      const double us = median_us([&](int i) {
        GemvArgs g;
        g.w = cs[i % copies], g.x = x, g.norm = norm, g.eps = 1e-5f, g.bias = bias, g.y = y;
        CHECK(launch_gemv(s.in, s.out, g, nullptr));
      });
      const double bytes = static_cast<double>(cs[0].bytes());
      std::printf("gemv %-5s %s %8.1f us  %7.1f GB/s\n", dev_format_name(fmt), s.name, us, bytes / us / 1e3);
      if (s.rows != V) {
        total_bytes += bytes * 40;
        total_us += us * 40;
      }
      mats.push_back(std::move(cs));
    }
    std::printf("  40 layers as separate launches (sum of medians): %.1f us, %.1f GB/s\n", total_us,
                total_bytes / total_us / 1e3);
    // The same 160 GEMVs chained in one graph, without and with PDL.
    cudaStream_t st;
    CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    for (bool pdl : {false, true}) {
      cudaGraph_t graph;
      cudaGraphExec_t exec;
      CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
      {
        const PdlScope scope(pdl);
        for (int layer = 0; layer < 40; ++layer) {
          for (int k = 0; k < 4; ++k) {
            GemvArgs g;
            g.w = mats[k][layer % copies], g.x = x, g.norm = norm, g.eps = 1e-5f, g.bias = bias, g.y = y;
            CHECK(launch_gemv(shapes[k].in, shapes[k].out, g, st));
          }
        }
      }
      CHECK(cudaStreamEndCapture(st, &graph));
      CHECK(cudaGraphInstantiate(&exec, graph, 0));
      cudaEvent_t a, b;
      CHECK(cudaEventCreate(&a));
      CHECK(cudaEventCreate(&b));
      std::vector<float> ms;
      for (int i = 0; i < 13; ++i) {
        CHECK(cudaEventRecord(a, st));
        CHECK(cudaGraphLaunch(exec, st));
        CHECK(cudaEventRecord(b, st));
        CHECK(cudaEventSynchronize(b));
        float t = 0;
        CHECK(cudaEventElapsedTime(&t, a, b));
        if (i >= 3) ms.push_back(t);
      }
      std::sort(ms.begin(), ms.end());
      std::printf("  40 layers in one graph, PDL %s (active: %s): %.1f us, %.1f GB/s\n", pdl ? "on " : "off",
                  pdl && pdl_supported() ? "yes" : "no", ms[ms.size() / 2] * 1000.0,
                  total_bytes / (ms[ms.size() / 2] * 1000.0) / 1e3);
      cudaGraphExecDestroy(exec);
      cudaGraphDestroy(graph);
    }
    cudaStreamDestroy(st);
    for (auto& cs : mats) {
      for (auto& m : cs) {
        cudaFree(m.data);
        cudaFree(const_cast<float*>(m.scales));
      }
    }
  }
  // Attention at a 2k context, one token, bf16 cache, as in decode.
  {
    const int len = 2176, kv_dim = 256, width = QKV + 2 * kv_dim;
    void* kc = dev_alloc(2ull * len * kv_dim);
    void* vc = dev_alloc(2ull * len * kv_dim);
    float* qkv = static_cast<float*>(dev_alloc(4ull * width));
    CHECK(cudaMemset(qkv, 0, 4ull * width));
    for (const auto& [splits, min_chunk] : {std::pair{64, 64}, std::pair{128, 64}, std::pair{128, 32}}) {
      float* scratch = static_cast<float*>(dev_alloc(4 * attention_scratch_floats(1, 32, 128, splits)));
      float* out = static_cast<float*>(dev_alloc(4 * 4096));
      const double us = median_us([&](int) {
        AttentionArgs a;
        a.qkv = qkv, a.width = width, a.k_cache = kc, a.v_cache = vc, a.cache_bf16 = true, a.tokens = 1;
        a.start = len - 1, a.num_heads = 32, a.num_kv_heads = 2, a.head_dim = 128, a.out = out;
        a.scratch = scratch, a.splits = splits, a.min_chunk = min_chunk;
        CHECK(launch_attention(a, nullptr));
      });
      std::printf("attention decode, context %d, %d splits of >= %d keys: %.1f us\n", len, splits, min_chunk, us);
      cudaFree(scratch);
      cudaFree(out);
    }
    float* inv = static_cast<float*>(dev_alloc(4 * 32));
    const double rope_us = median_us([&](int) {
      RopeCacheArgs r;
      r.qkv = qkv, r.bias = bias, r.inv_freq = inv, r.tokens = 1, r.start = len - 1, r.num_heads = 32;
      r.num_kv_heads = 2, r.head_dim = 128, r.rotary_dim = 64, r.k_cache = kc, r.v_cache = vc, r.cache_bf16 = true;
      CHECK(launch_rope_cache(r, nullptr));
    });
    std::printf("rope + cache write, 1 token: %.1f us\n", rope_us);
    const double na_us = median_us([&](int) { CHECK(launch_norm_add(x, y, norm, H, 1e-5f, 1, nullptr)); });
    std::printf("norm_add, 1 token: %.1f us\n", na_us);
    cudaFree(kc);
    cudaFree(vc);
    cudaFree(qkv);
    cudaFree(inv);
  }
  {
    std::int32_t* tok = static_cast<std::int32_t*>(dev_alloc(4));
    const double us = median_us([&](int) {
      SampleArgs s;
      s.logits = y, s.vocab = V, s.token_out = tok;
      CHECK(launch_sample(s, nullptr));
    });
    std::printf("greedy sample over %d: %.1f us\n", V, us);
  }
  // Prefill flash attention, 2048 tokens, 32 heads of 128 over 2 KV heads.
  {
    const int T = 2048, kv_dim = 256, width = QKV + 2 * kv_dim;
    void* kc = dev_alloc(2ull * T * kv_dim);
    void* vc = dev_alloc(2ull * T * kv_dim);
    float* qkv = static_cast<float*>(dev_alloc(4ull * T * width));
    CHECK(cudaMemset(qkv, 0, 4ull * T * width));
    void* out = dev_alloc(2ull * T * 4096);
    const double us = median_us([&](int) {
      AttentionArgs a;
      a.qkv = qkv, a.width = width, a.k_cache = kc, a.v_cache = vc, a.cache_bf16 = true, a.tokens = T, a.start = 0;
      a.num_heads = 32, a.num_kv_heads = 2, a.head_dim = 128, a.out = out, a.out_bf16 = true;
      CHECK(launch_flash_attention(a, nullptr));
    }, 10);
    const double flops = 4.0 * 32 * 128 * (static_cast<double>(T) * T / 2);
    std::printf("flash attention prefill T=%d: %.1f us per layer, %.0f TFLOP/s (causal flops), x40 layers = %.1f ms\n",
                T, us, flops / us / 1e6, us * 40 / 1000);
  }
  return 0;
}
