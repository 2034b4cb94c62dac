#include "tools/browser/search_provider.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "tools/browser/charset.h"
#include "tools/browser/local_search.h"

namespace alltools::tools::browser::detail {
namespace {

constexpr std::string_view kBraveDefaultEndpoint = "https://api.search.brave.com/res/v1/web/search";
// Error bodies from a provider are quoted up to this many bytes.
constexpr std::size_t kErrorExcerptBytes = 300;

std::string json_string(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<nlohmann::json> fetch_json(Fetcher& fetcher, const FetchRequest& req, const ToolContext& ctx,
                                  std::string_view provider) {
  Result<FetchResponse> r = fetcher.fetch(req, ctx);
  if (!r.ok()) return r.error().context(std::string(provider) + " search");
  if (r->status != 200) {
    std::string excerpt = sanitize_utf8(std::string_view(r->body).substr(0, kErrorExcerptBytes));
    return make_error(ErrorCode::kUnavailable, std::string(provider) + " search: HTTP " + std::to_string(r->status) +
                                                   " from " + r->url + (excerpt.empty() ? "" : ": " + excerpt));
  }
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::kParse, std::string(provider) + " search: the response from " + r->url +
                                             " is not a JSON object");
  }
  return j;
}

class SearxngProvider final : public SearchProvider {
 public:
  SearxngProvider(SearchConfig config, Fetcher* fetcher) : config_(std::move(config)), fetcher_(fetcher) {}

  Result<std::vector<SearchHit>> search(const std::string& query, int recency_days, const ToolContext& ctx) override {
    std::string base = config_.endpoint;
    while (!base.empty() && base.back() == '/') base.pop_back();
    std::string url = base + "/search?format=json&q=" + url_encode(query);
    if (recency_days > 0) {
      const char* range = recency_days <= 1 ? "day" : recency_days <= 7 ? "week" : recency_days <= 31 ? "month" : "year";
      url += std::string("&time_range=") + range;
    }
    if (!config_.language.empty()) url += "&language=" + url_encode(config_.language);
    FetchRequest req{url, /*untrusted=*/false, {"Accept: application/json"}};
    ALLTOOLS_ASSIGN_OR_RETURN(nlohmann::json j, fetch_json(*fetcher_, req, ctx, "SearXNG"));
    std::vector<SearchHit> hits;
    auto results = j.find("results");
    if (results == j.end() || !results->is_array()) {
      return make_error(ErrorCode::kParse, "SearXNG search: response has no 'results' array");
    }
    for (const auto& r : *results) {
      if (static_cast<int>(hits.size()) >= config_.max_results) break;
      if (!r.is_object()) continue;
      SearchHit h{strip_tags(json_string(r, "title")), json_string(r, "url"), strip_tags(json_string(r, "content"))};
      if (h.url.empty()) continue;
      hits.push_back(std::move(h));
    }
    return hits;
  }

 private:
  SearchConfig config_;
  Fetcher* fetcher_;
};

class BraveProvider final : public SearchProvider {
 public:
  BraveProvider(SearchConfig config, std::string key, Fetcher* fetcher)
      : config_(std::move(config)), key_(std::move(key)), fetcher_(fetcher) {}

  Result<std::vector<SearchHit>> search(const std::string& query, int recency_days, const ToolContext& ctx) override {
    const std::string endpoint = config_.endpoint.empty() ? std::string(kBraveDefaultEndpoint) : config_.endpoint;
    std::string url = endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&") + "q=" + url_encode(query) +
                      "&count=" + std::to_string(std::clamp(config_.max_results, 1, 20));
    if (recency_days > 0) {
      const char* f = recency_days <= 1 ? "pd" : recency_days <= 7 ? "pw" : recency_days <= 31 ? "pm" : "py";
      url += std::string("&freshness=") + f;
    }
    if (!config_.language.empty()) url += "&search_lang=" + url_encode(config_.language);
    FetchRequest req{url, /*untrusted=*/false, {"Accept: application/json", "X-Subscription-Token: " + key_}};
    ALLTOOLS_ASSIGN_OR_RETURN(nlohmann::json j, fetch_json(*fetcher_, req, ctx, "Brave"));
    std::vector<SearchHit> hits;
    auto web = j.find("web");
    if (web == j.end() || !web->is_object()) return hits;  // Brave omits "web" when nothing matched
    auto results = web->find("results");
    if (results == web->end() || !results->is_array()) return hits;
    for (const auto& r : *results) {
      if (static_cast<int>(hits.size()) >= config_.max_results) break;
      if (!r.is_object()) continue;
      SearchHit h{strip_tags(json_string(r, "title")), json_string(r, "url"),
                  strip_tags(json_string(r, "description"))};
      if (h.url.empty()) continue;
      hits.push_back(std::move(h));
    }
    return hits;
  }

 private:
  SearchConfig config_;
  std::string key_;
  Fetcher* fetcher_;
};

}  // namespace

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string strip_tags(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_tag = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_tag) {
      if (c == '>') in_tag = false;
      continue;
    }
    if (c == '<') {
      in_tag = true;
      continue;
    }
    if (c == '&') {
      static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
          {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&#x27;", "'"},
          {"&nbsp;", " "}};
      bool done = false;
      for (const auto& [name, value] : kEntities) {
        if (s.substr(i).starts_with(name)) {
          out += value;
          i += name.size() - 1;
          done = true;
          break;
        }
      }
      if (done) continue;
    }
    out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  }
  return sanitize_utf8(out);
}

Result<std::unique_ptr<SearchProvider>> make_search_provider(const SearchConfig& config, Fetcher* fetcher) {
  if (config.max_results <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "search.max_results must be positive");
  }
  switch (config.kind) {
    case SearchProviderKind::kNone:
      return std::unique_ptr<SearchProvider>();
    case SearchProviderKind::kSearxng: {
      if (config.endpoint.empty()) {
        return make_error(ErrorCode::kInvalidArgument, "search.endpoint: SearXNG needs its base URL");
      }
      return std::unique_ptr<SearchProvider>(new SearxngProvider(config, fetcher));
    }
    case SearchProviderKind::kBrave: {
      const char* key = std::getenv(config.api_key_env.c_str());
      if (key == nullptr || *key == '\0') {
        return make_error(ErrorCode::kInvalidArgument, "search: the Brave Search API key is not set (environment "
                                                       "variable " + config.api_key_env + ")");
      }
      return std::unique_ptr<SearchProvider>(new BraveProvider(config, key, fetcher));
    }
    case SearchProviderKind::kLocal: {
      ALLTOOLS_ASSIGN_OR_RETURN(auto p, make_local_search_provider(config));
      return std::unique_ptr<SearchProvider>(std::move(p));
    }
  }
  return make_error(ErrorCode::kInvalidArgument, "search.kind: unknown provider");
}

}  // namespace alltools::tools::browser::detail
