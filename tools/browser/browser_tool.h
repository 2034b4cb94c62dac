// simple_browser: GLM-4's web browser tool (search, mclick, open_url) with citations.
//
// Arguments (produced by core/protocol, see tools/tool.h):
//   {"calls": [{"fn": "search", "query": "...", "recency_days": 7},   // recency_days optional
//              {"fn": "mclick", "ids": [1, 4]},
//              {"fn": "open_url", "url": "https://..."}]}
// Observations (glm4-protocol.md §4):
//   search    browser_result           " # 【i†title†host】\nsnippet\n...Visible: 0% - 100%"
//   open_url  browser_result           "TITLE: t\n\n\nURL: u\n{markdown with 【linkId†anchor†host】}\nVisible: a% - b%"
//   mclick    quote_result [k†source]  one per page that loaded (markdown), system_error per page that did not
//   failure   system_error             what failed and why
//
// Ids: the entries of the most recent list (search results, or the links of the most recent open_url page) are
// numbered 0..n-1; mclick indexes that list. Each quoted page gets a session-wide counter k that is always at
// least the size of the current list, so a quote id never collides with a list id. citations() maps both kinds
// of id to (title, url); a later list overwrites the list ids, quotes stay.
//
// Network: every connection and redirect hop is vetted after DNS, before connect (NetworkPolicy); only http and
// https; bodies are capped in decoded bytes; every request has deadlines. The default policy denies loopback,
// private, link-local/metadata, CGNAT and documentation ranges (also in IPv4-mapped, NAT64 and 6to4 form).
//
// Thread-safety: one BrowserTool per session; invoke() from one thread at a time; citations() may be called
// from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tools/tool.h"

namespace alltools::tools::browser {

// Which destination addresses a page fetch may connect to. Filled by the app from policies/.
struct NetworkPolicy {
  bool allow_loopback = false;  // 127.0.0.0/8, ::1 (and their mapped/NAT64/6to4 forms)
  bool allow_private = false;   // 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7
  // Extra ranges treated as public, e.g. {"127.0.0.2/32"} for a test server. Checked before the deny list.
  std::vector<std::string> allowed_cidrs;
  // Host names (lower case). A name matches itself and its subdomains ("example.com" matches "a.example.com").
  std::vector<std::string> allowed_hosts;  // non-empty: only these hosts may be fetched
  std::vector<std::string> denied_hosts;   // always refused
  // Destination ports; empty = any port.
  std::vector<int> allowed_ports = {80, 443, 8080, 8443};
};

// Named limits for fetching; every loop touching the network is bounded by one of these.
struct FetchLimits {
  std::size_t max_body_bytes = 4u << 20;     // decoded (decompressed) body bytes kept per page
  std::size_t max_header_bytes = 64u << 10;  // response header bytes per hop
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{15000};  // one page, all redirect hops included
  std::chrono::milliseconds call_timeout{30000};     // one tool call (all pages of an mclick)
  int max_redirects = 5;
  int max_connections_per_host = 4;
  int max_total_connections = 16;
  int max_mclick_pages = 10;  // ids beyond this are answered with an error line
  std::string user_agent = "AllTools-simple_browser/0.1 (+https://github.com/alltools)";
};

enum class SearchProviderKind {
  kNone,     // search answers with a system_error naming the missing configuration
  kSearxng,  // self-hosted SearXNG, JSON API: GET {endpoint}/search?q=...&format=json
  kBrave,    // Brave Search API: GET {endpoint}?q=...  with X-Subscription-Token from the environment
  kLocal,    // BM25 index built by `alltools index build DIR` (see local_index.h)
};

struct SearchConfig {
  SearchProviderKind kind = SearchProviderKind::kNone;
  // SearXNG base URL ("http://127.0.0.1:8888"), or the Brave endpoint (default below when empty).
  std::string endpoint;
  std::string api_key_env = "BRAVE_API_KEY";  // Brave: the environment variable holding the key
  std::filesystem::path index_path;          // local: the index file written by `alltools index build`
  int max_results = 10;
  std::string language;  // optional, passed to the provider ("en", "zh-CN")
  // Provider endpoints are configured by the operator, so they bypass NetworkPolicy's address ranges; they
  // still get the scheme allowlist, deadlines, byte caps and no redirects.
};

struct BrowserConfig {
  SearchConfig search;
  NetworkPolicy network;
  FetchLimits limits;
  std::size_t page_token_budget = 3000;  // open_url / each mclick page is cut to this many tokens
  // Counts tokens of a text; empty = an estimate (≈ 4 ASCII bytes or 1 CJK character per token). The app may
  // plug in the model's tokenizer.
  std::function<std::size_t(std::string_view)> count_tokens;
};

// One entry of the citation table: what `【id†…】` in an answer refers to.
struct Citation {
  int id = 0;
  std::string title;
  std::string url;
  friend bool operator==(const Citation&, const Citation&) = default;
};

class BrowserTool : public Tool {
 public:
  // The citation table of this session, sorted by id.
  virtual std::vector<Citation> citations() const = 0;
  virtual std::optional<Citation> citation(int id) const = 0;
};

// Validates the config (CIDR syntax, provider settings: endpoint URL, index file readable, API key present)
// and builds the tool. Errors name the offending field.
Result<std::unique_ptr<BrowserTool>> make_browser_tool(const BrowserConfig& config);

// The tool name the model uses.
inline constexpr std::string_view kBrowserToolName = "simple_browser";

}  // namespace alltools::tools::browser
