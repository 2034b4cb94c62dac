// browser_bench: HTML -> markdown throughput on Debian's python3-doc pages, ours vs turndown + jsdom (node),
// timed in the same run on the same files.
// Usage: browser_bench [--docs DIR] [--mb N] [--repeats R] [--no-peer]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "tools/browser/charset.h"
#include "tools/browser/html_to_markdown.h"

namespace {

namespace fs = std::filesystem;
using alltools::tools::browser::detail::ExtractOptions;
using alltools::tools::browser::detail::html_to_markdown;
using alltools::tools::browser::detail::to_utf8;

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string docs = "/usr/share/doc/python3-doc/html";
  double mb = 4;
  int repeats = 3;
  bool peer = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--docs" && i + 1 < argc) {
      docs = argv[++i];
    } else if (a == "--mb" && i + 1 < argc) {
      mb = std::atof(argv[++i]);
    } else if (a == "--repeats" && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--no-peer") {
      peer = false;
    } else {
      std::fprintf(stderr, "usage: browser_bench [--docs DIR] [--mb N] [--repeats R] [--no-peer]\n");
      return 2;
    }
  }
  // The corpus: library/*.html in name order until `mb` megabytes.
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(docs) / "library", ec)) {
    if (e.path().extension() == ".html") files.push_back(e.path());
  }
  if (files.empty()) {
    std::fprintf(stderr, "browser_bench: no HTML under %s/library (install python3-doc)\n", docs.c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> pages;
  std::vector<fs::path> used;
  std::size_t total = 0;
  for (const auto& f : files) {
    if (static_cast<double>(total) >= mb * 1e6) break;
    pages.push_back(read_file(f));
    used.push_back(f);
    total += pages.back().size();
  }
  std::size_t out_bytes = 0;
  ExtractOptions opts;
  opts.base_url = "http://docs.example/library/x.html";
  out_bytes += html_to_markdown(to_utf8(pages[0], "utf-8"), opts).markdown.size();  // warm-up
  out_bytes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) {
    for (const std::string& html : pages) out_bytes += html_to_markdown(to_utf8(html, "utf-8"), opts).markdown.size();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double ours = static_cast<double>(total) * repeats / 1e6 / s;
  std::printf("corpus: %zu python3-doc pages, %.2f MB, x%d\n", pages.size(), static_cast<double>(total) / 1e6, repeats);
  std::printf("alltools html_to_markdown: %.2f MB/s (%.3f s, %.2f MB markdown)\n", ours, s,
              static_cast<double>(out_bytes) / 1e6 / repeats);
  if (!peer) return 0;
  const fs::path node_dir = fs::path(ALLTOOLS_SOURCE_DIR) / "bench/browser/node";
  if (!fs::exists(node_dir / "node_modules/turndown/package.json")) {
    std::fprintf(stderr, "browser_bench: turndown/jsdom missing: run bench/browser/setup.sh (or pass --no-peer)\n");
    return 1;
  }
  const fs::path list = fs::temp_directory_path() / ("browser_bench_list_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream l(list);
    for (const auto& f : used) l << f.string() << "\n";
  }
  const int peer_repeats = 1;
  const std::string cmd = "node " + (node_dir / "turndown_bench.mjs").string() + " " + list.string() + " " +
                          std::to_string(peer_repeats);
  FILE* p = popen(cmd.c_str(), "r");
  char line[512] = {};
  const bool got = p != nullptr && std::fgets(line, sizeof line, p) != nullptr;
  if (p != nullptr) pclose(p);
  fs::remove(list);
  const char* at = got ? std::strstr(line, "\"mb_per_s\":") : nullptr;
  if (at == nullptr) {
    std::fprintf(stderr, "browser_bench: the node peer failed: %s\n", line);
    return 1;
  }
  const double theirs = std::atof(at + 11);
  std::printf("turndown 7.2.5 + jsdom 24 (node): %.2f MB/s   %s", theirs, line);
  std::printf("ratio: %.1fx (goal >= 10x)\n", ours / theirs);
  return 0;
}
