// Encode throughput, single-threaded: alltools_tokenizer vs tiktoken's own core (the @dqbd/tiktoken WebAssembly
// build, run by node on the same corpus in the same run). Prints MB/s (1 MB = 1e6 bytes) for both and the ratio.
// Usage: tokenizer_bench [--tokenizer DIR_OR_FILE] [--corpus FILE] [--seconds S] [--repeat N]
// Default corpus: every text of the golden-encodings file (Chinese and English READMEs, Python source, edge
// cases), joined by newlines and repeated N times (default 8).
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "model/tokenizer.h"

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer_path = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat";
  std::string corpus_path;
  double seconds = 3.0;
  int repeat = 8;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf("usage: tokenizer_bench [--tokenizer DIR_OR_FILE] [--corpus FILE] [--seconds S] [--repeat N]\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "tokenizer_bench: %s needs a value\n", a.c_str());
      return 2;
    }
    if (a == "--tokenizer") tokenizer_path = argv[++i];
    else if (a == "--corpus") corpus_path = argv[++i];
    else if (a == "--seconds") seconds = std::atof(argv[++i]);
    else if (a == "--repeat") repeat = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "tokenizer_bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  auto tok = alltools::model::load_tokenizer(tokenizer_path);
  if (!tok.ok()) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", tok.error().message.c_str());
    return 1;
  }
  std::string corpus;
  if (corpus_path.empty()) {
    const std::string golden = std::string(ALLTOOLS_SHARED_DIR) + "/tokenizers/glm-4-9b-chat/golden-encodings.jsonl";
    std::ifstream in(golden);
    if (!in) {
      std::fprintf(stderr, "tokenizer_bench: missing %s\n", golden.c_str());
      return 1;
    }
    std::string one, line;
    while (std::getline(in, line)) {
      if (!line.empty()) one += nlohmann::json::parse(line).at("text").get<std::string>() + "\n";
    }
    for (int r = 0; r < repeat; ++r) corpus += one;
    corpus_path = (std::filesystem::temp_directory_path() / ("alltools_tokenizer_bench_" + std::to_string(::getpid()) + ".txt")).string();
    std::ofstream(corpus_path, std::ios::binary) << corpus;
  } else {
    corpus = read_file(corpus_path);
  }
  const std::string model_file = std::filesystem::is_directory(tokenizer_path)
                                     ? tokenizer_path + "/tokenizer.model"
                                     : tokenizer_path;

  // Ours: warm-up, then whole-corpus encodes until `seconds` of CPU time have passed. CPU time (this thread's)
  // is the figure compared, because the machine is shared; wall-clock MB/s is printed beside it.
  std::size_t tokens = (*tok)->encode(corpus).size();
  int runs = 0;
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
  double cpu = 0;
  while (cpu < seconds || runs == 0) {
    tokens = (*tok)->encode(corpus).size();
    ++runs;
    cpu = thread_cpu_seconds() - cpu_start;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const double ours = static_cast<double>(corpus.size()) * runs / cpu / 1e6;
  std::printf("corpus: %zu bytes, %zu tokens (%s)\n", corpus.size(), tokens, corpus_path.c_str());
  std::printf("alltools encode: %.2f MB/s per CPU-second (%.2f MB/s wall; %d runs, single thread)\n", ours,
              static_cast<double>(corpus.size()) * runs / wall / 1e6, runs);

  const std::string script = std::string(ALLTOOLS_SOURCE_DIR) + "/bench/tokenizer/node/tiktoken_bench.mjs";
  const std::string modules = std::string(ALLTOOLS_SOURCE_DIR) + "/bench/tokenizer/node/node_modules/@dqbd/tiktoken";
  int rc = 0;
  if (!std::filesystem::exists(modules)) {
    std::printf("tiktoken: not installed; run bench/tokenizer/setup.sh for the comparison\n");
    rc = 1;
  } else {
    const std::string cmd = "node '" + script + "' '" + model_file + "' '" + corpus_path + "' " + std::to_string(seconds);
    FILE* pipe = popen(cmd.c_str(), "r");
    char buf[512] = {};
    std::string out;
    while (pipe != nullptr && std::fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
    const int status = pipe != nullptr ? pclose(pipe) : -1;
    double theirs = 0;
    std::size_t their_tokens = 0;
    const char* mb = std::strstr(out.c_str(), "cpu_mb_per_s=");
    const char* wall_mb = std::strstr(out.c_str(), " mb_per_s=");
    const char* tk = std::strstr(out.c_str(), "tokens=");
    if (status == 0 && mb != nullptr && tk != nullptr) {
      theirs = std::atof(mb + 13);
      their_tokens = std::strtoull(tk + 7, nullptr, 10);
    }
    if (theirs <= 0) {
      std::printf("tiktoken: failed (%s)\n", out.c_str());
      rc = 1;
    } else {
      std::printf("tiktoken (@dqbd/tiktoken 1.0.22, WASM, node): %.2f MB/s per CPU-second (%.2f MB/s wall), %zu tokens%s\n",
                  theirs, wall_mb != nullptr ? std::atof(wall_mb + 10) : 0.0, their_tokens,
                  their_tokens == tokens ? " (same count)" : " (TOKEN COUNT DIFFERS)");
      std::printf("ratio alltools / tiktoken: %.2fx\n", ours / theirs);
    }
  }
  if (argc >= 0 && corpus_path.find("alltools_tokenizer_bench_") != std::string::npos) std::filesystem::remove(corpus_path);
  return rc;
}
