#include "tools/browser/browser_tool.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "tools/browser/fetcher.h"
#include "tools/browser/page_content.h"
#include "tools/browser/page_view.h"
#include "tools/browser/search_provider.h"
#include "tools/browser/url.h"

namespace alltools::tools::browser {
namespace {

using detail::FetchRequest;
using detail::FetchResponse;
using detail::Page;

// Calls in one invoke beyond this are refused (the reference demo caps a chain at 10 calls).
constexpr std::size_t kMaxCallsPerInvoke = 10;
constexpr std::size_t kMaxQueryBytes = 2000;
constexpr std::size_t kMaxLabelBytes = 200;
constexpr std::size_t kMaxSnippetBytes = 600;
constexpr std::size_t kMaxUrlBytes = 8192;

void cut_utf8(std::string* s, std::size_t max) {
  if (s->size() <= max) return;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
}

// A title, anchor or snippet made safe for the 【id†text†host】 syntax: one line, no brackets or daggers.
std::string clean_label(std::string_view s, std::size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max + 8));
  bool space = false;
  for (std::size_t i = 0; i < s.size() && out.size() < max + 8; ++i) {
    const std::string_view rest = s.substr(i);
    if (rest.starts_with("【") || rest.starts_with("】") || rest.starts_with("†")) {
      out += rest.starts_with("†") ? "+" : (rest.starts_with("【") ? "[" : "]");
      i += 2;
      continue;
    }
    const char c = s[i];
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  cut_utf8(&out, max);
  return out;
}

Observation system_error(std::string text) { return error_observation(std::move(text), "system_error"); }

Observation browser_result(std::string text) {
  Observation o;
  o.metadata = "browser_result";
  o.text = std::move(text);
  return o;
}

class SimpleBrowser final : public BrowserTool {
 public:
  SimpleBrowser(BrowserConfig config, std::unique_ptr<detail::Fetcher> fetcher,
                std::unique_ptr<detail::SearchProvider> provider)
      : config_(std::move(config)), fetcher_(std::move(fetcher)), provider_(std::move(provider)) {
    spec_.name = std::string(kBrowserToolName);
    spec_.kind = ToolSpec::Kind::kBuiltin;
  }

  const ToolSpec& spec() const override { return spec_; }

  std::vector<Observation> invoke(const nlohmann::json& args, const ToolContext& ctx) override {
    std::vector<Observation> out;
    auto calls = args.is_object() ? args.find("calls") : args.end();
    if (!args.is_object() || calls == args.end() || !calls->is_array() || calls->empty()) {
      out.push_back(system_error("simple_browser: expected {\"calls\": [{\"fn\": \"search\"|\"mclick\"|\"open_url\", ...}]}"));
      return out;
    }
    std::size_t n = 0;
    for (const nlohmann::json& call : *calls) {
      if (++n > kMaxCallsPerInvoke) {
        out.push_back(system_error("simple_browser: at most " + std::to_string(kMaxCallsPerInvoke) +
                                   " calls per message; the rest were not run"));
        break;
      }
      if (ctx.cancelled()) {
        out.push_back(system_error("simple_browser: cancelled"));
        break;
      }
      if (ctx.expired()) {
        out.push_back(system_error("simple_browser: the tool call's deadline passed"));
        break;
      }
      const std::string fn = call.is_object() && call.contains("fn") && call["fn"].is_string()
                                 ? call["fn"].get<std::string>()
                                 : std::string();
      if (fn == "search") {
        out.push_back(search(call, ctx));
      } else if (fn == "open_url") {
        out.push_back(open_url(call, ctx));
      } else if (fn == "mclick") {
        std::vector<Observation> obs = mclick(call, ctx);
        out.insert(out.end(), std::make_move_iterator(obs.begin()), std::make_move_iterator(obs.end()));
      } else {
        out.push_back(system_error("simple_browser: unknown function '" + fn +
                                   "' (use search(query, recency_days), mclick(ids) or open_url(url))"));
      }
    }
    return out;
  }

  std::vector<Citation> citations() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Citation> out;
    out.reserve(citations_.size());
    for (const auto& [id, c] : citations_) out.push_back(c);
    return out;
  }

  std::optional<Citation> citation(int id) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = citations_.find(id);
    if (it == citations_.end()) return std::nullopt;
    return it->second;
  }

 private:
  struct Entry {
    std::string title;
    std::string url;  // absolute; "" when the link could not be resolved (the error says why)
    std::string error;
  };

  Observation search(const nlohmann::json& call, const ToolContext& ctx) {
    auto q = call.find("query");
    if (q == call.end() || !q->is_string() || q->get<std::string>().empty()) {
      return system_error("search: needs a non-empty string 'query'");
    }
    std::string query = q->get<std::string>();
    cut_utf8(&query, kMaxQueryBytes);
    int recency = 0;
    if (auto r = call.find("recency_days"); r != call.end() && !r->is_null()) {
      if (!r->is_number()) return system_error("search: 'recency_days' must be a number of days");
      recency = std::max(0, r->get<int>());
    }
    if (!provider_) {
      return system_error("search: no search provider is configured (SearXNG, Brave or a local index); "
                          "open_url still works");
    }
    if (ctx.progress) ctx.progress("searching: " + query);
    Result<std::vector<detail::SearchHit>> hits = provider_->search(query, recency, ctx);
    if (!hits.ok()) return system_error("search failed: " + hits.error().message);
    std::vector<Entry> list;
    std::string text;
    for (const detail::SearchHit& h : *hits) {
      const int id = static_cast<int>(list.size());
      const std::string title = clean_label(h.title.empty() ? h.url : h.title, kMaxLabelBytes);
      std::string host = h.url.starts_with("file:") ? "local" : detail::url_host(h.url);
      text += " # 【" + std::to_string(id) + "†" + title + "†" + clean_label(host, kMaxLabelBytes) + "】\n";
      std::string snippet = clean_label(h.snippet, kMaxSnippetBytes);
      text += snippet + "\n";
      list.push_back(Entry{title, h.url, ""});
    }
    if (list.empty()) text = "No results for \"" + clean_label(query, kMaxLabelBytes) + "\".\n";
    text += "Visible: 0% - 100%";
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (std::size_t i = 0; i < list.size(); ++i) {
        citations_[static_cast<int>(i)] = Citation{static_cast<int>(i), list[i].title, list[i].url};
      }
    }
    set_current(std::move(list));
    return browser_result(std::move(text));
  }

  Observation open_url(const nlohmann::json& call, const ToolContext& ctx) {
    auto u = call.find("url");
    if (u == call.end() || !u->is_string() || u->get<std::string>().empty()) {
      return system_error("open_url: needs a string 'url'");
    }
    std::string url = u->get<std::string>();
    // "example.org/page" as the model sometimes writes it: assume https.
    if (url.find("://") == std::string::npos && !url.starts_with("file:")) url = "https://" + url;
    if (url.size() > kMaxUrlBytes) return system_error("open_url: the URL is longer than 8192 bytes");
    if (ctx.progress) ctx.progress("opening " + url);
    Result<Page> page = load_one(url, /*number_links=*/true, ctx);
    if (!page.ok()) return system_error("open_url failed: " + page.error().message);
    const detail::PageView view = detail::view_page(page->markdown, config_.page_token_budget, config_.count_tokens);
    std::vector<Entry> list;
    list.reserve(page->links.size());
    for (const detail::PageLink& l : page->links) {
      Result<std::string> abs = detail::resolve_any_url(page->base_url, l.href);
      list.push_back(Entry{clean_label(l.text, kMaxLabelBytes), abs.ok() ? *abs : "",
                           abs.ok() ? "" : abs.error().message});
    }
    set_current(std::move(list));
    return browser_result("TITLE: " + clean_label(page->title, kMaxLabelBytes) + "\n\n\nURL: " + page->url + "\n" +
                          view.text + "\n" + detail::visible_line(view));
  }

  std::vector<Observation> mclick(const nlohmann::json& call, const ToolContext& ctx) {
    std::vector<Observation> out;
    auto ids_it = call.find("ids");
    if (ids_it == call.end() || !ids_it->is_array() || ids_it->empty()) {
      out.push_back(system_error("mclick: needs a non-empty list of ids, e.g. mclick([0, 2, 5])"));
      return out;
    }
    if (current_.empty()) {
      out.push_back(system_error("mclick: there is no result list yet; call search or open_url first"));
      return out;
    }
    std::vector<int> ids;
    std::set<int> seen;
    for (const nlohmann::json& v : *ids_it) {
      if (!v.is_number_integer() && !(v.is_number() && v.get<double>() == static_cast<double>(v.get<long long>()))) {
        out.push_back(system_error("mclick: id " + v.dump() + " is not an integer"));
        continue;
      }
      const long long id = v.get<long long>();
      if (id < 0 || id >= static_cast<long long>(current_.size())) {
        out.push_back(system_error("mclick: id " + std::to_string(id) + " is not in the current list (ids 0-" +
                                   std::to_string(current_.size() - 1) + ")"));
        continue;
      }
      if (!seen.insert(static_cast<int>(id)).second) continue;
      if (static_cast<int>(ids.size()) >= config_.limits.max_mclick_pages) {
        out.push_back(system_error("mclick: id " + std::to_string(id) + " skipped: at most " +
                                   std::to_string(config_.limits.max_mclick_pages) + " pages per call"));
        continue;
      }
      ids.push_back(static_cast<int>(id));
    }
    if (ids.empty()) return out;
    if (ctx.progress) ctx.progress("fetching " + std::to_string(ids.size()) + " pages");
    std::vector<std::string> urls;
    for (int id : ids) urls.push_back(current_[static_cast<std::size_t>(id)].url);
    std::vector<Result<Page>> pages = load_many(urls, /*number_links=*/false, ctx);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const Entry& e = current_[static_cast<std::size_t>(ids[i])];
      if (e.url.empty()) {
        out.push_back(system_error("mclick: id " + std::to_string(ids[i]) + " cannot be opened: " + e.error));
        continue;
      }
      if (!pages[i].ok()) {
        out.push_back(system_error("mclick: id " + std::to_string(ids[i]) + " (" + e.url +
                                   ") did not load: " + pages[i].error().message));
        continue;
      }
      Page& p = *pages[i];
      std::string md = p.markdown;
      if (!md.starts_with("#")) md = "# " + clean_label(p.title, kMaxLabelBytes) + "\n\n" + md;
      const detail::PageView view = detail::view_page(md, config_.page_token_budget, config_.count_tokens);
      int k = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        next_quote_ = std::max(next_quote_, static_cast<int>(current_.size()));
        k = next_quote_++;
        citations_[k] = Citation{k, clean_label(p.title, kMaxLabelBytes), p.url};
      }
      Observation o;
      o.metadata = "quote_result [" + std::to_string(k) + "†source]";
      o.text = view.text;
      out.push_back(std::move(o));
    }
    return out;
  }

  void set_current(std::vector<Entry> list) {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(list);
  }

  Result<Page> load_one(const std::string& url, bool number_links, const ToolContext& ctx) {
    std::vector<Result<Page>> r = load_many({url}, number_links, ctx);
    return std::move(r.front());
  }

  // Local documents of the index are read from disk; everything else goes through the guarded fetcher,
  // concurrently. Results in the order of `urls`.
  std::vector<Result<Page>> load_many(const std::vector<std::string>& urls, bool number_links, const ToolContext& ctx) {
    std::vector<std::optional<Result<Page>>> results(urls.size());
    std::vector<FetchRequest> requests;
    std::vector<std::size_t> request_index;
    for (std::size_t i = 0; i < urls.size(); ++i) {
      const std::string& url = urls[i];
      if (url.empty()) {
        results[i] = make_error(ErrorCode::kInvalidArgument, "no URL");
      } else if (url.starts_with("file:")) {
        std::string bare = url.substr(0, url.find('#'));
        std::optional<std::filesystem::path> file = provider_ ? provider_->local_file(bare) : std::nullopt;
        if (!file) {
          results[i] = make_error(ErrorCode::kDenied,
                                  url + ": file URLs open only documents of the configured local search index");
          continue;
        }
        Result<FetchResponse> r = detail::read_local_file(*file, config_.limits.max_body_bytes);
        results[i] = r.ok() ? detail::page_from_response(*r, number_links) : Result<Page>(r.error());
      } else {
        requests.push_back(FetchRequest{url, /*untrusted=*/true, {}});
        request_index.push_back(i);
      }
    }
    if (!requests.empty()) {
      std::vector<Result<FetchResponse>> fetched = fetcher_->fetch_all(requests, ctx);
      for (std::size_t j = 0; j < fetched.size(); ++j) {
        results[request_index[j]] = fetched[j].ok() ? detail::page_from_response(*fetched[j], number_links)
                                                    : Result<Page>(fetched[j].error());
      }
    }
    std::vector<Result<Page>> out;
    out.reserve(results.size());
    for (auto& r : results) out.push_back(std::move(*r));
    return out;
  }

  BrowserConfig config_;
  ToolSpec spec_;
  std::unique_ptr<detail::Fetcher> fetcher_;
  std::unique_ptr<detail::SearchProvider> provider_;
  mutable std::mutex mu_;                // guards citations_, next_quote_, current_
  std::vector<Entry> current_;           // the list mclick indexes
  std::map<int, Citation> citations_;
  int next_quote_ = 0;
};

}  // namespace

Result<std::unique_ptr<BrowserTool>> make_browser_tool(const BrowserConfig& config) {
  if (config.page_token_budget == 0) {
    return make_error(ErrorCode::kInvalidArgument, "browser.page_token_budget must be positive");
  }
  if (config.limits.max_mclick_pages <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "browser.limits.max_mclick_pages must be positive");
  }
  ALLTOOLS_ASSIGN_OR_RETURN(auto fetcher, detail::Fetcher::create(config.network, config.limits));
  if (config.search.kind == SearchProviderKind::kSearxng || config.search.kind == SearchProviderKind::kBrave) {
    if (!config.search.endpoint.empty()) {
      Result<detail::WebUrl> u = detail::parse_web_url(config.search.endpoint);
      if (!u.ok()) return u.error().context("search.endpoint");
    }
  }
  ALLTOOLS_ASSIGN_OR_RETURN(auto provider, detail::make_search_provider(config.search, fetcher.get()));
  return std::unique_ptr<BrowserTool>(new SimpleBrowser(config, std::move(fetcher), std::move(provider)));
}

}  // namespace alltools::tools::browser
