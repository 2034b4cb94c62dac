#include "tools/browser/local_search.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "tools/browser/local_index.h"
#include "tools/browser/page_content.h"

namespace alltools::tools::browser::detail {
namespace {

constexpr std::size_t kSnippetBytes = 300;
constexpr std::size_t kMaxDocumentBytes = 8u << 20;

void cut_utf8(std::string* s, std::size_t max) {
  if (s->size() <= max) return;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
  *s += "…";
}

// The paragraph of `text` containing the most distinct query terms (ties: the earliest).
std::string best_passage(std::string_view text, const std::unordered_set<std::string>& terms) {
  std::string_view best;
  std::string_view fallback;
  std::size_t best_hits = 0;
  std::size_t pos = 0;
  // Bounded: every iteration consumes one paragraph.
  while (pos < text.size()) {
    std::size_t end = text.find("\n\n", pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view para = text.substr(pos, end - pos);
    std::unordered_set<std::string> seen;
    for (const std::string& t : search_tokens(para.substr(0, 4096))) {
      if (terms.count(t) != 0) seen.insert(t);
    }
    // Prose beats headings, code and tables; among prose, the most distinct query terms, then the earliest.
    const bool prose = !para.starts_with("#") && !para.starts_with("```") && !para.starts_with("|") &&
                       para.find_first_not_of(" \n#-*|`") != std::string_view::npos;
    if (prose && (best.empty() || seen.size() > best_hits)) {
      best = para;
      best_hits = seen.size();
    }
    if (fallback.empty()) fallback = para;
    pos = end + 2;
  }
  if (best.empty()) best = fallback;
  std::string out;
  out.reserve(std::min(best.size(), kSnippetBytes * 2));
  bool space = false;
  for (char c : best.substr(0, kSnippetBytes * 2)) {
    if (c == '\n' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (c == '#' && out.empty()) continue;
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  cut_utf8(&out, kSnippetBytes);
  return out;
}

class LocalSearchProvider final : public SearchProvider {
 public:
  LocalSearchProvider(LocalIndex index, int max_results) : index_(std::move(index)), max_results_(max_results) {
    for (std::size_t i = 0; i < index_.docs().size(); ++i) by_url_.emplace(file_url(index_.docs()[i].path), i);
  }

  Result<std::vector<SearchHit>> search(const std::string& query, int recency_days, const ToolContext& ctx) override {
    (void)recency_days;  // local documents carry no dates worth trusting
    std::vector<std::string> q = search_tokens(query);
    const std::unordered_set<std::string> terms(q.begin(), q.end());
    std::vector<SearchHit> hits;
    for (const auto& [doc, score] : index_.query(query, static_cast<std::size_t>(max_results_))) {
      if (ctx.cancelled()) return make_error(ErrorCode::kCancelled, "local search cancelled");
      const LocalIndex::Doc& d = index_.docs()[doc];
      SearchHit h{d.title, file_url(d.path), ""};
      Result<FetchResponse> r = read_local_file(d.path, kMaxDocumentBytes);
      if (r.ok()) {
        Result<Page> page = page_from_response(*r, /*number_links=*/false);
        if (page.ok()) h.snippet = best_passage(page->markdown, terms);
      }
      if (h.title.empty()) h.title = std::filesystem::path(d.path).filename().string();
      hits.push_back(std::move(h));
    }
    return hits;
  }

  std::optional<std::filesystem::path> local_file(std::string_view url) const override {
    auto it = by_url_.find(std::string(url));
    if (it == by_url_.end()) return std::nullopt;
    return std::filesystem::path(index_.docs()[it->second].path);
  }

 private:
  LocalIndex index_;
  int max_results_;
  std::unordered_map<std::string, std::size_t> by_url_;
};

}  // namespace

Result<std::unique_ptr<SearchProvider>> make_local_search_provider(const SearchConfig& config) {
  if (config.index_path.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "search.index_path: the local provider needs an index (alltools index build DIR)");
  }
  ALLTOOLS_ASSIGN_OR_RETURN(LocalIndex index, LocalIndex::load(config.index_path));
  return std::unique_ptr<SearchProvider>(new LocalSearchProvider(std::move(index), config.max_results));
}

}  // namespace alltools::tools::browser::detail
