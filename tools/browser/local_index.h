// The `local` search provider's index: BM25 over a folder of documents (HTML, Markdown, text) with CJK-aware
// tokenization. Public: `alltools index build DIR` calls build_local_index; BrowserConfig::search.index_path
// names the file it wrote.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.h"

namespace alltools::tools::browser {

struct IndexBuildStats {
  std::size_t documents = 0;  // indexed
  std::size_t skipped = 0;    // unreadable, too large, or not a document type
  std::size_t terms = 0;      // distinct terms
  std::size_t bytes = 0;      // document bytes read
};

// Named limits of an index build.
struct IndexLimits {
  std::size_t max_documents = 200000;
  std::size_t max_file_bytes = 8u << 20;  // larger files are skipped
};

// Walks `dir` (symlinks not followed), extracts each .html/.htm/.md/.markdown/.txt/.rst file through the browser's
// page extraction, and writes the index to `out`.
Result<IndexBuildStats> build_local_index(const std::filesystem::path& dir, const std::filesystem::path& out,
                                          const IndexLimits& limits = {});

namespace detail {

// Lower-cased words of letters/digits; CJK runs (Han, kana, Hangul) become unigrams and overlapping bigrams.
std::vector<std::string> search_tokens(std::string_view text);

class LocalIndex {
 public:
  struct Doc {
    std::string path;  // absolute
    std::string title;
    std::uint32_t length = 0;  // tokens
  };

  static Result<LocalIndex> load(const std::filesystem::path& file);
  Status save(const std::filesystem::path& file) const;

  // Adds one document's tokens (build time).
  void add(Doc doc, const std::vector<std::string>& tokens);
  // The best `k` documents for `query`, by BM25 score (k1 = 1.2, b = 0.75), highest first.
  std::vector<std::pair<std::size_t, double>> query(std::string_view query, std::size_t k) const;

  const std::vector<Doc>& docs() const { return docs_; }
  std::size_t term_count() const { return postings_.size(); }

 private:
  struct Posting {
    std::uint32_t doc;
    std::uint32_t tf;
  };
  std::vector<Doc> docs_;
  std::unordered_map<std::string, std::vector<Posting>> postings_;  // doc indexes ascending
  std::uint64_t total_length_ = 0;
};

}  // namespace detail
}  // namespace alltools::tools::browser
