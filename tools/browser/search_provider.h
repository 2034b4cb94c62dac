// Search providers behind `search(query, recency_days)`: SearXNG, Brave Search API, and a local BM25 index.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tools/browser/browser_tool.h"
#include "tools/browser/fetcher.h"
#include "tools/tool.h"

namespace alltools::tools::browser::detail {

struct SearchHit {
  std::string title;
  std::string url;
  std::string snippet;  // plain text
  friend bool operator==(const SearchHit&, const SearchHit&) = default;
};

class SearchProvider {
 public:
  virtual ~SearchProvider() = default;
  // `recency_days` <= 0 means no restriction.
  virtual Result<std::vector<SearchHit>> search(const std::string& query, int recency_days,
                                                const ToolContext& ctx) = 0;
  // The file behind `url` when it is one of this provider's local documents (the local index); else nullopt.
  virtual std::optional<std::filesystem::path> local_file(std::string_view url) const {
    (void)url;
    return std::nullopt;
  }
};

// `fetcher` must outlive the provider. kNone yields nullptr.
Result<std::unique_ptr<SearchProvider>> make_search_provider(const SearchConfig& config, Fetcher* fetcher);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view s);
// Drops HTML tags and decodes the common entities (provider snippets contain <strong> and &amp;).
std::string strip_tags(std::string_view s);

}  // namespace alltools::tools::browser::detail
