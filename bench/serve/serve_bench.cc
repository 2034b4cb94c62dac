// serve_bench: continuous batching on the CPU (the SequencePool behind `alltools serve`). For 1, 4 and 16
// concurrent streams (each a thread: open, append its own prompt, generate greedily), prints the aggregate decode
// throughput, p50/p99 time to first token and the mean rows per decode step, with the ratio to one stream.
// The batched kernel alone: bench/model/kernel_bench.
//
//   serve_bench                                    # the embedded model, then --synthetic glm4-9b:layers=4
//   serve_bench --synthetic glm4-9b:layers=4 --dtype int8 --tokens 24 --prompt 16 --streams 1,4,16
//   serve_bench --model DIR
//
// Definitions: streams start together. Time to first token (TTFT) = from the start to the stream's first token
// (prefills are chunked between decode steps, so later streams wait for earlier ones). Decode tok/s = the
// steady state: from the moment every stream has its first token, each generates --tokens more; their sum over
// the time from that moment to the last one. End-to-end tok/s = every generated token over the whole round
// (prefills included). rows/step = mean rows per batched decode step and busy = the share of the time spent in
// decode steps, both in the steady state. p50/p99: nearest rank over the streams. Figures are wall-clock on whatever else the
// machine runs: the load average is printed before and after.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/cpu/cpu_sequence_pool.h"
#include "model/cpu/kernels.h"

namespace {

using namespace alltools::model;
using alltools::Error;
using alltools::Result;
using alltools::Status;
using Clock = std::chrono::steady_clock;

constexpr int kMaxStreams = 256;              // SequencePoolOptions::max_sequences' limit
constexpr int kMaxTokensBeforeSteady = 2048;  // bound on a stream's tokens while later streams still prefill

struct Args {
  std::vector<std::string> models;  // "dir:PATH" or "syn:SPEC"
  std::string dtype = "bf16";
  std::vector<int> streams = {1, 4, 16};
  int tokens = 32;
  int prompt = 16;
  int threads = 0;
  int repeat = 1;  // rounds per stream count; the best decode figure is kept (the machine is shared)
};

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const std::size_t rank = static_cast<std::size_t>(std::max(1.0, std::ceil(p / 100.0 * v.size())));
  return v[std::min(rank, v.size()) - 1];
}

struct Row {
  int streams = 0;
  double decode_tok_s = 0, end_to_end_tok_s = 0, ttft_p50 = 0, ttft_p99 = 0;
  double mean_batch = 0, step_busy = 0;  // in the steady state: rows per step, fraction of the time in steps
};

// One round: `streams` threads, each with its own prompt, all started together. Once every stream has its first
// token (all prefills done), each generates args.tokens more; those are the steady-state decode figure.
Row run_round(SequencePool& pool, int streams, const Args& args) {
  const int vocab = pool.info().vocab_size;
  std::vector<Clock::time_point> first(streams), last(streams);
  std::vector<int> made(streams, 0), steady(streams, 0);
  std::mutex mu;
  int started = 0;
  Clock::time_point steady_begin;
  SequencePoolStats at_steady;
  std::latch start(streams + 1);
  Clock::time_point t0;
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      std::vector<TokenId> ids;
      for (int k = 0; k < args.prompt; ++k) ids.push_back(static_cast<TokenId>((k * 7919 + s * 104729 + 17) % vocab));
      start.arrive_and_wait();
      auto seq = pool.open(ids);
      if (!seq.ok()) {
        std::fprintf(stderr, "open: %s\n", seq.error().message.c_str());
        std::exit(1);
      }
      Status appended = seq.value()->append(std::span<const TokenId>(ids).subspan(seq.value()->position()));
      if (!appended.ok()) {
        std::fprintf(stderr, "append: %s\n", appended.error().message.c_str());
        std::exit(1);
      }
      GenerateRequest request;
      request.max_new_tokens = args.tokens + kMaxTokensBeforeSteady;
      auto out = seq.value()->generate(request, [&](TokenId) {
        const auto now = Clock::now();
        std::lock_guard lock(mu);
        if (made[s]++ == 0) {
          first[s] = now;
          if (++started == streams) {
            steady_begin = now;
            at_steady = pool.stats();
          }
          return true;
        }
        last[s] = now;
        if (started == streams && now > steady_begin) ++steady[s];
        return steady[s] < args.tokens;
      });
      if (!out.ok()) {
        std::fprintf(stderr, "generate: %s\n", out.error().message.c_str());
        std::exit(1);
      }
    });
  }
  t0 = Clock::now();
  start.arrive_and_wait();
  for (auto& t : threads) t.join();
  const auto after = pool.stats();
  Row row;
  row.streams = streams;
  std::vector<double> ttft;
  int counted = 0, total = 0;
  Clock::time_point end = t0;
  for (int s = 0; s < streams; ++s) {
    ttft.push_back(seconds(t0, first[s]));
    counted += steady[s];
    total += made[s];
    end = std::max(end, last[s]);
  }
  row.decode_tok_s = counted / seconds(steady_begin, end);
  row.end_to_end_tok_s = total / seconds(t0, end);
  row.ttft_p50 = percentile(ttft, 50);
  row.ttft_p99 = percentile(ttft, 99);
  const auto steps = after.steps - at_steady.steps;
  row.mean_batch = steps > 0 ? static_cast<double>(after.step_tokens - at_steady.step_tokens) / steps : 0.0;
  row.step_busy = (after.step_micros - at_steady.step_micros) * 1e-6 / seconds(steady_begin, end);
  return row;
}

int bench_model(const std::string& model, const Args& args) {
  CpuModelOptions options;
  auto type = parse_weight_type(args.dtype);
  if (!type.ok()) {
    std::fprintf(stderr, "%s\n", type.error().message.c_str());
    return 2;
  }
  options.weights = type.value();
  options.threads = args.threads;
  SequencePoolOptions pool_options;
  pool_options.max_sequences = *std::max_element(args.streams.begin(), args.streams.end());
  pool_options.max_parked = 0;  // every round prefills its prompts
  const auto t_load = Clock::now();
  Result<std::unique_ptr<SequencePool>> pool = Error{};
  if (model.rfind("syn:", 0) == 0) {
    auto spec = parse_synthetic_spec(model.substr(4));
    if (!spec.ok()) {
      std::fprintf(stderr, "%s\n", spec.error().message.c_str());
      return 2;
    }
    pool = open_cpu_sequence_pool(spec.value(), options, pool_options);
  } else {
    pool = open_cpu_sequence_pool(model.substr(4), options, pool_options);
  }
  if (!pool.ok()) {
    std::fprintf(stderr, "%s\n", pool.error().message.c_str());
    return 1;
  }
  std::printf("\nmodel %s (%s weights), loaded in %.0f s; prompt %d tokens, %d decoded per stream in the steady "
              "state; best of %d; load %s\n",
              pool.value()->info().name.c_str(), args.dtype.c_str(), seconds(t_load, Clock::now()), args.prompt,
              args.tokens, args.repeat, load_average().c_str());
  std::printf("%8s %14s %8s %12s %10s %10s %10s %8s\n", "streams", "decode tok/s", "x 1", "end-to-end",
              "TTFT p50", "TTFT p99", "rows/step", "busy");
  double single = 0.0;
  for (int streams : args.streams) {
    Row row = run_round(*pool.value(), streams, args);
    for (int r = 1; r < args.repeat; ++r) {
      const Row again = run_round(*pool.value(), streams, args);
      if (again.decode_tok_s > row.decode_tok_s) row = again;
    }
    if (streams == 1 || single == 0.0) single = row.decode_tok_s;
    std::printf("%8d %14.2f %7.2fx %12.2f %9.2fs %9.2fs %10.2f %7.0f%%\n", row.streams, row.decode_tok_s,
                row.decode_tok_s / single, row.end_to_end_tok_s, row.ttft_p50, row.ttft_p99, row.mean_batch,
                100.0 * row.step_busy);
    std::fflush(stdout);
  }
  std::printf("load average after: %s\n", load_average().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--model" && has_value) {
      args.models.push_back("dir:" + std::string(argv[++i]));
    } else if (a == "--synthetic" && has_value) {
      args.models.push_back("syn:" + std::string(argv[++i]));
    } else if (a == "--dtype" && has_value) {
      args.dtype = argv[++i];
    } else if (a == "--tokens" && has_value) {
      args.tokens = std::max(2, std::atoi(argv[++i]));
    } else if (a == "--prompt" && has_value) {
      args.prompt = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--repeat" && has_value) {
      args.repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--threads" && has_value) {
      args.threads = std::max(0, std::atoi(argv[++i]));
    } else if (a == "--streams" && has_value) {
      args.streams.clear();
      std::string list = argv[++i];
      for (std::size_t p = 0; p <= list.size();) {
        const std::size_t comma = std::min(list.find(',', p), list.size());
        const int s = std::atoi(list.substr(p, comma - p).c_str());
        if (s < 1 || s > kMaxStreams) {
          std::fprintf(stderr, "--streams: each count in [1, %d]\n", kMaxStreams);
          return 2;
        }
        args.streams.push_back(s);
        p = comma + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: serve_bench [--model DIR | --synthetic SPEC]... [--dtype f32|bf16|int8|stored] "
                   "[--streams 1,4,16] [--tokens N] [--prompt N] [--threads N] [--repeat N]\n");
      return 2;
    }
  }
  if (args.models.empty()) {
    args.models = {"dir:" + std::string(ALLTOOLS_SOURCE_DIR) + "/models/glm4-alltools-tiny", "syn:glm4-9b:layers=4"};
  }
  std::printf("serve_bench: kernels %s, %u hardware threads\n", alltools::model::cpu::best_kernels().name,
              std::thread::hardware_concurrency());
  for (const std::string& model : args.models) {
    if (const int rc = bench_model(model, args); rc != 0) return rc;
  }
  return 0;
}
