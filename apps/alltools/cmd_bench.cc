// `alltools bench decode`: prefill and batch-1 decode speed of the CPU backend against the machine's measured
// memory read bandwidth (bench/model/decode_bench.h); `alltools bench export-peers`: the same synthetic weights
// as files for the side-by-side run with llama.cpp (bench/peers/llama_cpp.sh). Benchmarks never run in the test
// suite.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "apps/alltools/command.h"
#if defined(ALLTOOLS_HAVE_BENCH_MODEL)
#include "bench/model/decode_bench.h"
#endif
#if defined(ALLTOOLS_HAVE_BENCH_PEERS)
#include "bench/peers/peer_export.h"
#endif

namespace {

#if defined(ALLTOOLS_HAVE_BENCH_MODEL)

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: alltools bench decode (--model DIR | --synthetic glm4-9b[:layers=N] | --synthetic tiny)\n"
               "                             [--device cpu|cuda] [--dtype stored|bf16|int8|f32] [--threads N]\n"
               "                             [--prompt N] [--tokens N] [--activations f32|bf16]\n\n"
               "Prefills --prompt tokens (default 128) in one batch, then decodes --tokens (default 32) greedily\n"
               "and prints prefill tok/s, decode tok/s, achieved GB/s (weights + KV read per token x tok/s), the\n"
               "machine's read bandwidth measured here, their ratio, and peak RSS. --synthetic uses random weights\n"
               "with GLM-4-9B's real shapes (generated in memory; bf16 unless --dtype says otherwise).\n"
               "--activations bf16 rounds prefill activations to bf16 for bf16 matrices and uses the CPU's bf16\n"
               "dot products (AVX512-BF16 only; CpuModelOptions::bf16_activations); default f32.\n"
               "--device cuda runs on GPU 0 and compares with the roofline from the GPU's measured copy bandwidth\n"
               "(copy GB/s / bytes read per decode step); it also prints the GPU memory in use.\n\n"
               "usage: alltools bench export-peers --synthetic glm4-9b[:layers=N] --out DIR\n\n"
               "Writes the --synthetic weights (the same values bench decode generates) as DIR/ours (safetensors +\n"
               "config.json, for bench decode --model) and as DIR/glm4-bf16.gguf and DIR/glm4-q8_0.gguf for llama.cpp\n"
               "(bench/peers/llama_cpp.sh runs both side by side).\n");
}

int run_export_peers(int argc, char** argv) {
#if defined(ALLTOOLS_HAVE_BENCH_PEERS)
  std::string synthetic, out;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--synthetic") {
      synthetic = argv[i + 1];
    } else if (arg == "--out") {
      out = argv[i + 1];
    } else {
      std::fprintf(stderr, "bench export-peers: unknown argument '%s'\n", arg.c_str());
      return 2;
    }
  }
  if (synthetic.empty() || out.empty() || argc % 2 != 0) {
    std::fprintf(stderr, "usage: alltools bench export-peers --synthetic glm4-9b[:layers=N] --out DIR\n");
    return 2;
  }
  const auto status = alltools::bench::export_peer_files(synthetic, out);
  if (!status.ok()) {
    std::fprintf(stderr, "bench export-peers: %s\n", status.error().message.c_str());
    return 1;
  }
  std::printf("wrote %s/ours (safetensors), %s/glm4-bf16.gguf, %s/glm4-q8_0.gguf\n", out.c_str(), out.c_str(),
              out.c_str());
  return 0;
#else
  (void)argc;
  (void)argv;
  std::fprintf(stderr, "bench export-peers: not built in this configuration\n");
  return 2;
#endif
}

int run_bench(int argc, char** argv) {
  using namespace alltools;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) == "export-peers") return run_export_peers(argc, argv);
  if (std::string(argv[1]) != "decode") {
    std::fprintf(stderr, "bench: unknown benchmark '%s' (available: decode, export-peers)\n", argv[1]);
    return 2;
  }
  bench::DecodeBenchOptions options;
  options.model.weights = model::CpuModelOptions::WeightType::kBF16;
  bool dtype_set = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench decode: %s needs a value (or is unknown)\n", arg.c_str());
      return 2;
    }
    const std::string v = argv[++i];
    if (arg == "--model") {
      options.model_dir = v;
    } else if (arg == "--synthetic") {
      options.synthetic = v;
    } else if (arg == "--dtype") {
      auto t = model::parse_weight_type(v);
      if (!t.ok()) {
        std::fprintf(stderr, "bench decode: %s\n", t.error().message.c_str());
        return 2;
      }
      options.model.weights = t.value();
      dtype_set = true;
    } else if (arg == "--device") {
      options.device = v;
    } else if (arg == "--threads") {
      options.model.threads = std::atoi(v.c_str());
    } else if (arg == "--prompt") {
      options.prompt_tokens = std::atoi(v.c_str());
    } else if (arg == "--tokens") {
      options.decode_tokens = std::atoi(v.c_str());
    } else if (arg == "--activations") {
      if (v != "f32" && v != "bf16") {
        std::fprintf(stderr, "bench decode: --activations must be f32 or bf16, got '%s'\n", v.c_str());
        return 2;
      }
      options.model.bf16_activations = v == "bf16";
    } else {
      std::fprintf(stderr, "bench decode: unknown argument '%s'\n", arg.c_str());
      return 2;
    }
  }
  if (options.model_dir.empty() == options.synthetic.empty()) {
    std::fprintf(stderr, "bench decode: give exactly one of --model DIR or --synthetic SPEC\n");
    return 2;
  }
  if (!dtype_set && !options.model_dir.empty()) options.model.weights = model::CpuModelOptions::WeightType::kAsStored;
  auto report = bench::run_decode_bench(options);
  if (!report.ok()) {
    std::fprintf(stderr, "bench decode: %s\n", report.error().message.c_str());
    return 2;
  }
  const auto& r = report.value();
  std::printf("model            %s, dtype %s, kernels %s (%s), %d threads (load %.1f s)\n", r.model_name.c_str(),
              std::string(model::weight_type_name(options.model.weights)).c_str(), r.kernel.c_str(),
              r.compute_type.c_str(), r.threads, r.load_seconds);
  std::printf("weights          %.3f GB held, %.3f GB read per decode step (incl. KV cache)\n", r.weight_bytes / 1e9,
              r.bytes_per_token / 1e9);
  std::printf("prefill          %.1f tok/s (%d tokens, one batch)\n", r.prefill_tok_s, r.prompt_tokens);
  std::printf("decode           %.2f tok/s (%d steps, batch 1)\n", r.decode_tok_s, r.decode_steps);
  std::printf("achieved         %.1f GB/s\n", r.achieved_gb_s);
  std::string first;
  for (const auto token : r.first_tokens) first += (first.empty() ? "" : ",") + std::to_string(token);
  std::printf("first tokens     %s (greedy)\n", first.c_str());
  if (options.device == "cuda") {
    std::printf("gpu              %s\n", r.gpu_name.c_str());
    std::printf("copy bandwidth   %.1f GB/s (%s)\n", r.copy_bandwidth_gb_s, r.bandwidth_method.c_str());
    std::printf("roofline         %.1f tok/s (copy bandwidth / bytes per step)\n", r.roofline_tok_s);
    std::printf("fraction         %.3f of the roofline (goal >= 0.83)\n", r.roofline_fraction);
    std::printf("gpu memory       %.2f GiB in use\n", r.gpu_memory_used_gib);
    return 0;
  }
  std::printf("read bandwidth   %.1f GB/s (measured now, best of before/after: %s, %d threads)\n", r.read_bandwidth_gb_s,
              r.bandwidth_method.c_str(), r.threads);
  std::printf("ratio            %.2f (goal >= 0.80)\n", r.ratio);
  std::printf("peak RSS         %.0f MiB\n", r.peak_rss_mib);
  std::printf("huge pages       %.0f MiB (AnonHugePages)\n", r.huge_pages_mib);
  return 0;
}

#else  // configured with -DALLTOOLS_BUILD_BENCH=OFF (e.g. the sanitizer build)

int run_bench(int, char**) {
  std::fprintf(stderr, "bench: benchmarks are not built in this configuration (ALLTOOLS_BUILD_BENCH=OFF)\n");
  return 2;
}

#endif

}  // namespace

ALLTOOLS_COMMAND("bench", "benchmarks: `bench decode` (prefill/decode speed vs memory bandwidth), `bench export-peers`", run_bench);
