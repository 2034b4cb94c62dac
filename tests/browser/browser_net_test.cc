// The simple_browser tool against a real HTTP server on 127.0.0.2 (tests/browser/test_server.py): real pages
// from Debian's python3-doc, hostile responses, the SSRF guard, concurrency of mclick, and the SearXNG and
// Brave APIs as documented. The policy treats only 127.0.0.2/32 as public, so 127.0.0.1 stays denied.
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <algorithm>

#include <gtest/gtest.h>

#include "tests/browser/test_server.h"
#include "tools/browser/browser_tool.h"
#include "tools/browser/local_index.h"

namespace alltools::tools::browser {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Limits of the test configuration (small, so hostile cases finish fast).
constexpr std::size_t kBodyCap = 1u << 20;
constexpr auto kRequestTimeout = std::chrono::milliseconds(2000);
// The process may not grow past this while fetching 50 MB bodies and 100 MB gzip bombs.
constexpr long kMaxRssKb = 400 * 1024;

class BrowserNet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    if (!std::filesystem::is_directory(tests::kPythonDocs)) {
      FAIL() << "missing " << tests::kPythonDocs << " (Debian package python3-doc)";
    }
    server_ = tests::TestServer::start("127.0.0.2", &error).release();
    ASSERT_NE(server_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static BrowserConfig config() {
    BrowserConfig c;
    c.network.allowed_cidrs = {"127.0.0.2/32"};
    c.network.allowed_ports.clear();
    c.limits.max_body_bytes = kBodyCap;
    c.limits.request_timeout = kRequestTimeout;
    c.limits.connect_timeout = std::chrono::milliseconds(1000);
    c.limits.call_timeout = std::chrono::milliseconds(10000);
    c.limits.max_connections_per_host = 10;
    return c;
  }

  std::unique_ptr<BrowserTool> tool(const BrowserConfig& c) {
    auto t = make_browser_tool(c);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t.ok() ? std::move(*t) : nullptr;
  }

  static std::vector<Observation> call(BrowserTool& t, json calls) {
    ToolContext ctx;
    ctx.deadline = Clock::now() + std::chrono::seconds(30);
    return t.invoke(json{{"calls", std::move(calls)}}, ctx);
  }
  static Observation open(BrowserTool& t, const std::string& url) {
    auto obs = call(t, json::array({{{"fn", "open_url"}, {"url", url}}}));
    EXPECT_EQ(obs.size(), 1u);
    return obs.empty() ? Observation{} : obs[0];
  }
  static std::string url(const std::string& path) { return server_->base() + path; }
  static long max_rss_kb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
  }

  static tests::TestServer* server_;
};
tests::TestServer* BrowserNet::server_ = nullptr;

TEST_F(BrowserNet, OpensARealDocumentationPage) {
  auto t = tool(config());
  ASSERT_TRUE(t);
  const Observation o = open(*t, url("/docs/library/json.html"));
  ASSERT_FALSE(o.is_error) << o.text;
  EXPECT_EQ(o.metadata, "browser_result");
  EXPECT_TRUE(o.text.starts_with("TITLE: json — JSON encoder and decoder")) << o.text.substr(0, 200);
  EXPECT_NE(o.text.find("\n\n\nURL: " + url("/docs/library/json.html") + "\n"), std::string::npos);
  EXPECT_TRUE(std::regex_search(o.text, std::regex("\nVisible: 0% - [0-9]+%$"))) << o.text.substr(o.text.size() - 100);
  EXPECT_NE(o.text.find("【"), std::string::npos);
  // mclick follows the page's links; the quote id is a new citation.
  auto obs = call(*t, json::array({{{"fn", "mclick"}, {"ids", {6, 7}}}}));
  ASSERT_EQ(obs.size(), 2u);
  for (const auto& q : obs) EXPECT_FALSE(q.is_error) << q.text;
  EXPECT_TRUE(std::regex_match(obs[0].metadata, std::regex(R"(quote_result \[[0-9]+†source\])"))) << obs[0].metadata;
  const auto cites = t->citations();
  ASSERT_EQ(cites.size(), 2u);
  EXPECT_NE(cites[0].url.find("/docs/library/"), std::string::npos) << cites[0].url;
}

TEST_F(BrowserNet, DefaultPolicyDeniesTheLoopbackServer) {
  BrowserConfig c;
  c.network.allowed_ports.clear();  // only the address rule is under test
  auto t = tool(c);
  ASSERT_TRUE(t);
  const Observation o = open(*t, url("/docs/library/json.html"));
  EXPECT_TRUE(o.is_error);
  EXPECT_EQ(o.metadata, "system_error");
  EXPECT_NE(o.text.find("loopback"), std::string::npos) << o.text;
}

TEST_F(BrowserNet, LoopbackAndMetadataSpellingsAreDeniedOnEveryHop) {
  auto t = tool(config());
  ASSERT_TRUE(t);
  const std::string port = std::to_string(server_->port());
  const std::vector<std::string> targets = {
      "http://127.0.0.1:" + port + "/",       "http://2130706433:" + port + "/", "http://0x7f.1:" + port + "/",
      "http://0x7f000001:" + port + "/",      "http://127.1:" + port + "/",      "http://017700000001:" + port + "/",
      "http://[::ffff:127.0.0.1]:" + port + "/", "http://[::1]:" + port + "/", "http://localhost:" + port + "/",
      "http://0.0.0.0:" + port + "/",         "http://169.254.169.254/latest/meta-data/",
      "http://[::ffff:a9fe:a9fe]/",           "http://100.100.100.200/"};
  for (const std::string& target : targets) {
    const auto t0 = Clock::now();
    Observation direct = open(*t, target);
    EXPECT_TRUE(direct.is_error) << target;
    EXPECT_NE(direct.text.find("denies"), std::string::npos) << target << ": " << direct.text;
    Observation hop = open(*t, url("/redir?to=" + target));
    EXPECT_TRUE(hop.is_error) << "redirect to " << target;
    EXPECT_NE(hop.text.find("denies"), std::string::npos) << "redirect to " << target << ": " << hop.text;
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5)) << target;
  }
  for (const std::string& target : {std::string("file:///etc/passwd"), std::string("gopher://127.0.0.2/")}) {
    Observation hop = open(*t, url("/redir?to=" + target));
    EXPECT_TRUE(hop.is_error) << target;
    EXPECT_NE(hop.text.find("not allowed"), std::string::npos) << hop.text;
  }
  Observation userinfo = open(*t, "http://public@127.0.0.2:" + port + "/docs/index.html");
  EXPECT_TRUE(userinfo.is_error);
}

TEST_F(BrowserNet, HostileResponsesEndCleanlyWithinDeadlinesAndBoundedMemory) {
  auto t = tool(config());
  ASSERT_TRUE(t);
  struct Case {
    std::string path;
    bool expect_error;
    std::string expect_text;
  };
  const std::vector<Case> cases = {
      {"/big", false, "cut at 1.0 MB"},
      {"/slow", true, "timed out"},  // curl: "Operation timed out after ..."
      {"/loop?n=0", true, "more than 5 redirects"},
      {"/gzip-bomb", false, "Binary content (1.0 MB)"},  // 100 MB of zeros, decoded up to the cap
      {"/deep?n=100000", false, "TITLE: Deep"},
      {"/malformed", false, "unclosed"},
      {"/invalid-utf8", false, "\xEF\xBF\xBD"},
      {"/gbk", false, "今天北京晴，最高气温二十五度。"},
      {"/binary", false, "Binary content"},
      {"/headers-flood", true, "response headers exceed"},
      {"/nonexistent", true, "HTTP 404"},
  };
  for (const Case& c : cases) {
    const auto t0 = Clock::now();
    const Observation o = open(*t, url(c.path));
    const auto elapsed = Clock::now() - t0;
    EXPECT_EQ(o.is_error, c.expect_error) << c.path << ": " << o.text.substr(0, 300);
    EXPECT_NE(o.text.find(c.expect_text), std::string::npos) << c.path << ": " << o.text.substr(0, 300);
    EXPECT_LT(elapsed, kRequestTimeout + std::chrono::milliseconds(1500)) << c.path;
    EXPECT_LT(o.text.size(), 64u * 1024) << c.path << ": the observation is bounded by the page budget";
  }
  const Observation deep = open(*t, url("/deep?n=100000"));
  EXPECT_NE(deep.text.find("\nd\n"), std::string::npos);
  EXPECT_LT(deep.text.find("\nVisible: 0% - "), std::string::npos);
  const Observation gbk = open(*t, url("/gbk"));
  EXPECT_TRUE(gbk.text.starts_with("TITLE: 中文网页测试")) << gbk.text;
  EXPECT_LT(max_rss_kb(), kMaxRssKb);
}

// A local index holding one page that links 10 slow pages (200 ms each) on the server; `tool` is left with
// those 10 links as its current list.
std::unique_ptr<BrowserTool> slow_links_tool(const BrowserConfig& base, const std::string& server,
                                             const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::string h = "<html><head><title>Slow links</title></head><body><ul>";
  for (int i = 0; i < 10; ++i) {
    h += "<li><a href='" + server + "/latency?ms=200&id=" + std::to_string(i) + "'>slow page " + std::to_string(i) +
         "</a></li>";
  }
  std::ofstream(dir / "links.html") << h + "</ul></body></html>";
  EXPECT_TRUE(build_local_index(dir, dir / "i.bm25").ok());
  BrowserConfig c = base;
  c.search.kind = SearchProviderKind::kLocal;
  c.search.index_path = dir / "i.bm25";
  auto t = make_browser_tool(c);
  EXPECT_TRUE(t.ok());
  if (!t.ok()) return nullptr;
  ToolContext ctx;
  auto s = (*t)->invoke(json{{"calls", {{{"fn", "search"}, {"query", "slow links"}}}}}, ctx);
  EXPECT_EQ(s.size(), 1u);
  const auto hit = (*t)->citation(0);
  EXPECT_TRUE(hit.has_value());
  if (!hit) return nullptr;
  auto page = (*t)->invoke(json{{"calls", {{{"fn", "open_url"}, {"url", hit->url}}}}}, ctx);
  EXPECT_EQ(page.size(), 1u);
  EXPECT_NE(page[0].text.find("【9†slow page 9†127.0.0.2】"), std::string::npos) << page[0].text;
  return std::move(*t);
}

TEST_F(BrowserNet, MclickFetchesPagesConcurrently) {
  const auto dir = std::filesystem::temp_directory_path() / ("alltools_mclick_" + std::to_string(getpid()));
  auto t = slow_links_tool(config(), server_->base(), dir);
  ASSERT_TRUE(t);
  const auto t0 = Clock::now();
  auto obs = call(*t, json::array({{{"fn", "mclick"}, {"ids", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}}}));
  const auto elapsed = Clock::now() - t0;
  ASSERT_EQ(obs.size(), 10u);
  for (const auto& o : obs) EXPECT_FALSE(o.is_error) << o.text;
  EXPECT_NE(obs[9].text.find("Page 9"), std::string::npos) << obs[9].text;
  // Sequential fetching would take >= 2000 ms; concurrent takes ~200 ms plus overhead.
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
  std::printf("[ info ] mclick of 10 pages x 200 ms: %.0f ms\n",
              std::chrono::duration<double, std::milli>(elapsed).count());
  std::filesystem::remove_all(dir);
}

TEST_F(BrowserNet, PerHostConnectionLimitHolds) {
  const auto dir = std::filesystem::temp_directory_path() / ("alltools_perhost_" + std::to_string(getpid()));
  BrowserConfig c = config();
  c.limits.max_connections_per_host = 3;
  auto t = slow_links_tool(c, server_->base(), dir);
  ASSERT_TRUE(t);
  auto other = tool(config());
  ASSERT_TRUE(other);
  ASSERT_FALSE(open(*other, url("/stats?reset=1")).is_error);
  auto obs = call(*t, json::array({{{"fn", "mclick"}, {"ids", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}}}));
  ASSERT_EQ(obs.size(), 10u);
  for (const auto& o : obs) EXPECT_FALSE(o.is_error) << o.text;
  const Observation stats = open(*other, url("/stats"));
  const auto pos = stats.text.find("\"peak\":");
  ASSERT_NE(pos, std::string::npos) << stats.text;
  const int peak = std::atoi(stats.text.c_str() + pos + 7);
  EXPECT_GE(peak, 2) << stats.text;
  EXPECT_LE(peak, 3) << stats.text;
  std::filesystem::remove_all(dir);
}

TEST_F(BrowserNet, SearxngProviderSpeaksTheJsonApi) {
  BrowserConfig c = config();
  c.search.kind = SearchProviderKind::kSearxng;
  c.search.endpoint = url("/searxng");
  auto t = tool(c);
  ASSERT_TRUE(t);
  auto obs = call(*t, json::array({{{"fn", "search"}, {"query", "json encoder"}, {"recency_days", 7}}}));
  ASSERT_EQ(obs.size(), 1u);
  const Observation& o = obs[0];
  ASSERT_FALSE(o.is_error) << o.text;
  EXPECT_EQ(o.metadata, "browser_result");
  EXPECT_TRUE(o.text.starts_with(" # 【0†json — JSON encoder and decoder")) << o.text;
  EXPECT_NE(o.text.find("†127.0.0.2】\nPython documentation: json"), std::string::npos) << o.text;
  EXPECT_TRUE(o.text.ends_with("\nVisible: 0% - 100%"));
  auto probe = tool(config());
  ASSERT_TRUE(probe);
  const Observation last = open(*probe, url("/last"));
  EXPECT_NE(last.text.find("format=json"), std::string::npos) << last.text;
  EXPECT_NE(last.text.find("time_range=week"), std::string::npos) << last.text;
  EXPECT_NE(last.text.find("q=json%20encoder"), std::string::npos) << last.text;
  auto cites = t->citations();
  ASSERT_FALSE(cites.empty());
  EXPECT_EQ(cites[0].id, 0);
  EXPECT_NE(cites[0].url.find("/docs/library/json.html"), std::string::npos);
  // Clicking the result fetches it; the quote gets an id past the result list.
  auto q = call(*t, json::array({{{"fn", "mclick"}, {"ids", {0}}}}));
  ASSERT_EQ(q.size(), 1u);
  ASSERT_FALSE(q[0].is_error) << q[0].text;
  const int n = static_cast<int>(cites.size());
  EXPECT_EQ(q[0].metadata, "quote_result [" + std::to_string(n) + "†source]");
  ASSERT_TRUE(t->citation(n).has_value());
  EXPECT_NE(q[0].text.find("json"), std::string::npos);
}

TEST_F(BrowserNet, BraveProviderSendsTheKeyAndParsesWebResults) {
  ::setenv("ALLTOOLS_TEST_BRAVE_KEY", "test-key", 1);
  ::setenv("ALLTOOLS_TEST_BRAVE_BADKEY", "wrong", 1);
  BrowserConfig c = config();
  c.search.kind = SearchProviderKind::kBrave;
  c.search.endpoint = url("/brave/res/v1/web/search");
  c.search.api_key_env = "ALLTOOLS_TEST_BRAVE_KEY";
  c.search.max_results = 3;
  auto t = tool(c);
  ASSERT_TRUE(t);
  auto obs = call(*t, json::array({{{"fn", "search"}, {"query", "library"}, {"recency_days", 1}}}));
  ASSERT_EQ(obs.size(), 1u);
  ASSERT_FALSE(obs[0].is_error) << obs[0].text;
  EXPECT_NE(obs[0].text.find("Official Python docs & tutorials"), std::string::npos) << obs[0].text;
  EXPECT_NE(obs[0].text.find(" # 【2†"), std::string::npos);
  EXPECT_EQ(obs[0].text.find(" # 【3†"), std::string::npos) << "count is honoured";
  auto probe = tool(config());
  ASSERT_TRUE(probe);
  const Observation last = open(*probe, url("/last"));
  EXPECT_NE(last.text.find("\"x-subscription-token\": \"test-key\""), std::string::npos) << last.text;
  EXPECT_NE(last.text.find("freshness=pd"), std::string::npos) << last.text;
  auto none = call(*t, json::array({{{"fn", "search"}, {"query", "zzzqqq nothing matches"}}}));
  ASSERT_EQ(none.size(), 1u);
  EXPECT_FALSE(none[0].is_error);
  EXPECT_NE(none[0].text.find("No results"), std::string::npos);

  c.search.api_key_env = "ALLTOOLS_TEST_BRAVE_BADKEY";
  auto bad = tool(c);
  ASSERT_TRUE(bad);
  auto err = call(*bad, json::array({{{"fn", "search"}, {"query", "library"}}}));
  ASSERT_EQ(err.size(), 1u);
  EXPECT_TRUE(err[0].is_error);
  EXPECT_NE(err[0].text.find("HTTP 422"), std::string::npos) << err[0].text;
  c.search.api_key_env = "ALLTOOLS_TEST_BRAVE_UNSET";
  EXPECT_FALSE(make_browser_tool(c).ok());
}

TEST_F(BrowserNet, LocalIndexOverPythonDocsFindsAndOpensPages) {
  namespace fs = std::filesystem;
  // 40 real pages (json.html and its neighbours by name) keep the test fast, also under ASan.
  const fs::path dir = fs::temp_directory_path() / ("alltools_pydoc_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::vector<fs::path> pages;
  for (const auto& e : fs::directory_iterator(std::string(tests::kPythonDocs) + "/library")) {
    if (e.path().extension() == ".html") pages.push_back(e.path());
  }
  std::sort(pages.begin(), pages.end());
  const auto json_page = std::find(pages.begin(), pages.end(), fs::path(std::string(tests::kPythonDocs) + "/library/json.html"));
  ASSERT_NE(json_page, pages.end()) << "missing library/json.html in " << tests::kPythonDocs;
  const auto first = pages.begin() + std::max<std::ptrdiff_t>(0, (json_page - pages.begin()) - 20);
  for (auto it = first; it != pages.end() && it != first + 40; ++it) fs::copy_file(*it, dir / it->filename());
  const fs::path out = dir / "index.bm25";
  const auto t0 = Clock::now();
  auto stats = build_local_index(dir, out);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->documents, 40u);
  std::printf("[ info ] indexed %zu python3-doc library pages (%.1f MB) in %.2f s\n", stats->documents,
              static_cast<double>(stats->bytes) / 1e6,
              std::chrono::duration<double>(Clock::now() - t0).count());
  BrowserConfig c = config();
  c.search.kind = SearchProviderKind::kLocal;
  c.search.index_path = out;
  auto t = tool(c);
  ASSERT_TRUE(t);
  auto obs = call(*t, json::array({{{"fn", "search"}, {"query", "json encoder decoder"}},
                                   {{"fn", "mclick"}, {"ids", {0, 1}}}}));
  ASSERT_EQ(obs.size(), 3u);
  EXPECT_TRUE(obs[0].text.starts_with(" # 【0†json — JSON encoder and decoder")) << obs[0].text.substr(0, 300);
  EXPECT_NE(obs[0].text.find("†local】"), std::string::npos);
  EXPECT_FALSE(obs[1].is_error) << obs[1].text;
  EXPECT_NE(obs[1].text.find("JSON"), std::string::npos);
  // A file URL outside the index is refused.
  const Observation o = open(*t, "file:///etc/passwd");
  EXPECT_TRUE(o.is_error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace alltools::tools::browser
