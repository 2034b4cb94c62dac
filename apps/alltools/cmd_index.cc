// `alltools index build DIR`: builds the local search provider's BM25 index over a folder of documents.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "apps/alltools/command.h"
#include "tools/browser/local_index.h"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: alltools index build DIR [-o FILE]\n\n"
               "Indexes every .html/.htm/.md/.markdown/.txt/.rst file under DIR (symlinks not followed) for the\n"
               "browser's `local` search provider: text goes through the browser's page extraction, words are\n"
               "lower-cased, Chinese/Japanese/Korean text is split into characters and character bigrams, and\n"
               "queries are ranked with BM25. Use it with `alltools browse search \"...\" --index FILE`.\n"
               "  -o, --output FILE  where to write the index (default ./alltools-index.bm25)\n"
               "Exit status: 0 ok, 1 the build failed, 2 bad usage.\n");
}

int run_index(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "build") != 0) {
    std::fprintf(stderr, "index: unknown action '%s' (build)\n", argv[1]);
    return 2;
  }
  std::string dir, out = "alltools-index.bm25";
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "-o" || arg == "--output") {
      const char* v = alltools::app::flag_value(argc, argv, i, "index");
      if (v == nullptr) return 2;
      out = v;
    } else if (dir.empty() && !arg.starts_with("-")) {
      dir = arg;
    } else {
      std::fprintf(stderr, "index: unexpected argument '%s'\n", arg.c_str());
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "index build: needs a DIR\n");
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto stats = alltools::tools::browser::build_local_index(dir, out);
  if (!stats.ok()) {
    std::fprintf(stderr, "index build: %s\n", stats.error().message.c_str());
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("indexed %zu documents (%.1f MB, %zu skipped), %zu terms in %.2f s -> %s\n", stats->documents,
              static_cast<double>(stats->bytes) / 1e6, stats->skipped, stats->terms, s, out.c_str());
  return 0;
}

}  // namespace

ALLTOOLS_COMMAND("index", "build the local search index over a folder (alltools index build DIR)", run_index);
