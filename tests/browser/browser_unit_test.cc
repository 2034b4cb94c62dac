// Unit tests of the browser's parts that need no network: address policy, charsets, HTML extraction on real
// pages (Debian's python3-doc), the nesting cap, page budget, CJK tokenization, BM25 and argument handling.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/browser/test_server.h"
#include "tools/browser/address_guard.h"
#include "tools/browser/browser_tool.h"
#include "tools/browser/charset.h"
#include "tools/browser/html_nesting_cap.h"
#include "tools/browser/html_to_markdown.h"
#include "tools/browser/local_index.h"
#include "tools/browser/page_content.h"
#include "tools/browser/page_view.h"
#include "tools/browser/url.h"

namespace alltools::tools::browser::detail {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string python_doc(const std::string& rel) {
  const std::string path = std::string(tests::kPythonDocs) + "/" + rel;
  if (!std::filesystem::exists(path)) {
    ADD_FAILURE() << "missing " << path << " (install Debian's python3-doc: scripts/apt-packages.txt)";
    return "";
  }
  return read_file(path);
}

Status vet(const AddressGuard& g, const std::string& text, int port = 80) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (text.find(':') != std::string::npos) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &s6->sin6_addr), 1) << text;
    len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &s4->sin_addr), 1) << text;
    len = sizeof(sockaddr_in);
  }
  return g.vet_address(reinterpret_cast<const sockaddr*>(&ss), len);
}

TEST(AddressGuard, DefaultPolicyDeniesInternalRangesInEverySpelling) {
  auto g = AddressGuard::create(NetworkPolicy{});
  ASSERT_TRUE(g.ok());
  for (const char* ip : {"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                         "169.254.169.254", "100.100.100.200", "100.64.0.1", "0.0.0.0", "192.0.2.2", "198.18.0.1",
                         "224.0.0.1", "255.255.255.255", "::1", "::", "fd00:ec2::254", "fc00::1", "fe80::1",
                         "ff02::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
                         "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "2002:a9fe:a9fe::1",
                         "::127.0.0.1"}) {
    Status st = vet(*g, ip);
    EXPECT_FALSE(st.ok()) << ip << " was allowed";
    if (!st.ok()) {
      EXPECT_EQ(st.error().code, ErrorCode::kDenied) << ip;
    }
  }
  for (const char* ip : {"93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "172.32.0.1"}) {
    EXPECT_TRUE(vet(*g, ip).ok()) << ip << " was denied";
  }
}

TEST(AddressGuard, PortsAllowlistAndExplicitExceptions) {
  auto g = AddressGuard::create(NetworkPolicy{});
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(vet(*g, "8.8.8.8", 22).ok());
  EXPECT_TRUE(vet(*g, "8.8.8.8", 443).ok());

  NetworkPolicy p;
  p.allowed_ports.clear();
  p.allowed_cidrs = {"127.0.0.2/32"};
  auto t = AddressGuard::create(p);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(vet(*t, "127.0.0.2", 43210).ok());
  EXPECT_TRUE(vet(*t, "::ffff:127.0.0.2", 43210).ok());
  EXPECT_FALSE(vet(*t, "127.0.0.1", 43210).ok());
  p.allow_loopback = true;
  auto l = AddressGuard::create(p);
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(vet(*l, "127.0.0.1", 1).ok());
  EXPECT_TRUE(vet(*l, "::1", 1).ok());
  EXPECT_FALSE(vet(*l, "169.254.169.254", 80).ok()) << "metadata stays denied with loopback allowed";
}

TEST(AddressGuard, RejectsBadCidrsAndMatchesHostRules) {
  NetworkPolicy p;
  p.allowed_cidrs = {"10.0.0.0/33"};
  auto bad = AddressGuard::create(p);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("10.0.0.0/33"), std::string::npos);
  p.allowed_cidrs = {"not-an-ip"};
  EXPECT_FALSE(AddressGuard::create(p).ok());

  NetworkPolicy h;
  h.allowed_hosts = {"example.com"};
  h.denied_hosts = {"bad.example.com"};
  auto g = AddressGuard::create(h);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->vet_host("example.com").ok());
  EXPECT_TRUE(g->vet_host("docs.example.com").ok());
  EXPECT_FALSE(g->vet_host("bad.example.com").ok());
  EXPECT_FALSE(g->vet_host("x.bad.example.com").ok());
  EXPECT_FALSE(g->vet_host("notexample.com").ok());
}

TEST(WebUrl, OnlyHttpAndHttpsWithoutUserinfo) {
  EXPECT_TRUE(parse_web_url("https://example.com/a?b#c").ok());
  for (const char* u : {"file:///etc/passwd", "gopher://x/", "ftp://example.com/", "http://public@127.0.0.1/",
                        "http://user:pw@example.com/", "javascript:alert(1)", "not a url"}) {
    EXPECT_FALSE(parse_web_url(u).ok()) << u;
  }
  auto r = resolve_web_url("http://h.example/a/b.html", "../c.html#x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "http://h.example/c.html#x");
  auto f = resolve_any_url("file:///docs/library/json.html", "os.html#os.path");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, "file:///docs/library/os.html");
}

TEST(Charset, DetectsAndConvertsGbkBig5ShiftJis) {
  EXPECT_EQ(detect_charset("text/html; charset=GBK", "", true), "gbk");
  EXPECT_EQ(detect_charset("text/html", "<meta charset=\"big5\">", true), "big5");
  EXPECT_EQ(detect_charset("text/html", "<meta http-equiv='Content-Type' content='text/html; charset=Shift_JIS'>", true),
            "shift_jis");
  EXPECT_EQ(to_utf8("\xD6\xD0\xCE\xC4", "gbk"), "中文");
  EXPECT_EQ(to_utf8("\xA4\xA4\xA4\xE5", "big5"), "中文");
  EXPECT_EQ(to_utf8("\x93\xFA\x96\x7B", "shift_jis"), "日本");
  EXPECT_EQ(to_utf8("caf\xE9", ""), "café") << "non-UTF-8 without a label decodes as windows-1252";
  EXPECT_EQ(to_utf8("\xD6\xD0\xFF", "gbk"), "中\xEF\xBF\xBD");
  const std::string s = sanitize_utf8("a\xC3\x28 \xED\xA0\x80 \xF8\x88 z");
  EXPECT_TRUE(is_valid_utf8(s));
  EXPECT_EQ(s.front(), 'a');
  EXPECT_EQ(s.back(), 'z');
  EXPECT_TRUE(looks_binary(std::string("\x89PNG\r\n\x1a\n\0\0", 10)));
  EXPECT_FALSE(looks_binary("<html><body>plain</body></html>"));
}

TEST(HtmlToMarkdown, PythonDocsPageKeepsStructureAndDropsChrome) {
  const std::string html = python_doc("library/json.html");
  ASSERT_FALSE(html.empty());
  ExtractOptions o;
  o.base_url = "http://docs.example/library/json.html";
  const ExtractedPage p = html_to_markdown(html, o);
  EXPECT_NE(p.title.find("json"), std::string::npos) << p.title;
  EXPECT_TRUE(p.markdown.starts_with("# `json`")) << p.markdown.substr(0, 200);
  EXPECT_NE(p.markdown.find("## Basic Usage"), std::string::npos);
  EXPECT_NE(p.markdown.find("```python3\n>>> import json"), std::string::npos);
  EXPECT_NE(p.markdown.find("†json.org】"), std::string::npos) << "cross-site links carry their host";
  EXPECT_EQ(p.markdown.find("Navigation"), std::string::npos) << "the sidebar/related bars are dropped";
  EXPECT_EQ(p.markdown.find("¶"), std::string::npos) << "Sphinx header anchors are dropped";
  EXPECT_EQ(p.markdown.find("<div"), std::string::npos);
  ASSERT_FALSE(p.links.empty());
  // Link ids in the text are indexes into links.
  const std::string first = "【0†" + p.links[0].text;
  EXPECT_NE(p.markdown.find(first), std::string::npos) << first;
}

TEST(HtmlToMarkdown, TablesListsAndImages) {
  const std::string html =
      "<html><head><title>T</title></head><body><h2>Items</h2><ul><li>one</li><li>two<ol><li>a</li><li>b</li>"
      "</ol></li></ul><table><tr><th>k</th><th>v</th></tr><tr><td>x|y</td><td><b>1</b></td></tr></table>"
      "<p>pic <img src='a.png'> and <a href='/rel'>rel</a> <a href='https://other.org/p'>ext</a> "
      "<a href='#top'>top</a></p><script>var x = 1;</script><nav><a href='/1'>n</a></nav></body></html>";
  ExtractOptions o;
  o.base_url = "http://site.example/page";
  const ExtractedPage p = html_to_markdown(html, o);
  EXPECT_EQ(p.title, "T");
  EXPECT_NE(p.markdown.find("## Items"), std::string::npos);
  EXPECT_NE(p.markdown.find("- one\n- two\n  1. a\n  2. b"), std::string::npos) << p.markdown;
  EXPECT_NE(p.markdown.find("| k | v |\n| --- | --- |\n| x\\|y | **1** |"), std::string::npos) << p.markdown;
  EXPECT_NE(p.markdown.find("[Image 1]"), std::string::npos);
  EXPECT_NE(p.markdown.find("【0†rel】"), std::string::npos) << p.markdown;
  EXPECT_NE(p.markdown.find("【1†ext†other.org】"), std::string::npos) << p.markdown;
  EXPECT_EQ(p.markdown.find("var x"), std::string::npos);
  EXPECT_EQ(p.links.size(), 2u);
  o.number_links = false;
  const ExtractedPage plain = html_to_markdown(html, o);
  EXPECT_NE(plain.markdown.find("and rel ext top"), std::string::npos) << plain.markdown;
  EXPECT_TRUE(plain.links.empty());
}

TEST(HtmlToMarkdown, HundredThousandNestedDivsStayLinear) {
  std::string html = "<html><body>";
  for (int i = 0; i < 100000; ++i) html += "<div>x";
  html += "<p>bottom</p></body></html>";
  std::size_t dropped = 0;
  const std::string capped = cap_html_nesting(html, kMaxHtmlDepth, &dropped);
  EXPECT_GT(dropped, 99000u);
  const ExtractedPage p = html_to_markdown(html, ExtractOptions{});
  EXPECT_NE(p.markdown.find("bottom"), std::string::npos);
  EXPECT_NE(p.markdown.find("x"), std::string::npos);
}

TEST(HtmlNestingCap, KeepsOrdinaryPagesUnchanged) {
  const std::string html = python_doc("library/stdtypes.html");
  ASSERT_FALSE(html.empty());
  std::size_t dropped = 1;
  const std::string capped = cap_html_nesting(html, kMaxHtmlDepth, &dropped);
  EXPECT_EQ(dropped, 0u);
  EXPECT_EQ(capped, html);
}

TEST(PageView, CutsToTheBudgetAndReportsVisiblePercent) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "line " + std::to_string(i) + " of the page\n";
  const PageView all = view_page(text, 100000, {});
  EXPECT_EQ(all.visible_to, 100);
  EXPECT_EQ(visible_line(all), "Visible: 0% - 100%");
  const PageView part = view_page(text, 500, {});
  EXPECT_LE(estimate_tokens(part.text), 500u);
  EXPECT_GT(part.visible_to, 0);
  EXPECT_LT(part.visible_to, 100);
  EXPECT_TRUE(text.starts_with(part.text));
  // A custom counter (1 token per byte) is honoured.
  const PageView bytes = view_page(text, 100, [](std::string_view s) { return s.size(); });
  EXPECT_LE(bytes.text.size(), 100u);
  EXPECT_EQ(estimate_tokens("中文"), 2u);
}

TEST(SearchTokens, CjkUnigramsAndBigramsLatinWordsLowercased) {
  const auto t = search_tokens("Hello, 北京天气 World_2!");
  const std::vector<std::string> want = {"hello", "北", "京", "北京", "天", "京天", "气", "天气", "world_2"};
  EXPECT_EQ(t, want);
}

TEST(LocalIndex, Bm25RanksTheRelevantDocumentFirst) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("alltools_idx_" + std::to_string(getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "a.md") << "# Weather\n\nToday in Beijing the weather is sunny.\n";
  std::ofstream(dir / "sub" / "b.html") << "<html><head><title>北京天气预报</title></head><body><p>今天北京晴，"
                                           "气温二十五度。</p></body></html>";
  std::ofstream(dir / "c.txt") << "Unrelated text about compilers and linkers.";
  std::ofstream(dir / "d.bin") << "ignored";
  const fs::path out = dir / "index.bm25";
  auto stats = build_local_index(dir, out);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->documents, 3u);
  auto idx = LocalIndex::load(out);
  ASSERT_TRUE(idx.ok()) << idx.error().message;
  auto hits = idx->query("北京 天气", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(idx->docs()[hits[0].first].title, "北京天气预报");
  hits = idx->query("compilers", 3);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_TRUE(idx->docs()[hits[0].first].path.ends_with("c.txt"));
  // A corrupted index is an error naming the file and line.
  std::ofstream(dir / "bad.bm25") << "ALLTOOLS-BM25 1\nD 1\nnot-a-number\tx\ty\n";
  auto bad = LocalIndex::load(dir / "bad.bm25");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 3"), std::string::npos) << bad.error().message;
  fs::remove_all(dir);
}

TEST(BrowserTool, BadArgumentsAndMissingProviderAreObservations) {
  auto tool = make_browser_tool(BrowserConfig{});
  ASSERT_TRUE(tool.ok()) << tool.error().message;
  EXPECT_EQ((*tool)->spec().name, "simple_browser");
  ToolContext ctx;
  for (const nlohmann::json& args : {nlohmann::json::object(), nlohmann::json{{"calls", 3}},
                                     nlohmann::json{{"calls", {{{"fn", "fly"}}}}},
                                     nlohmann::json{{"calls", {{{"fn", "search"}}}}},
                                     nlohmann::json{{"calls", {{{"fn", "mclick"}, {"ids", {1}}}}}},
                                     nlohmann::json{{"calls", {{{"fn", "open_url"}, {"url", "file:///etc/passwd"}}}}},
                                     nlohmann::json{{"calls", {{{"fn", "search"}, {"query", "x"}}}}}}) {
    const auto obs = (*tool)->invoke(args, ctx);
    ASSERT_EQ(obs.size(), 1u) << args.dump();
    EXPECT_TRUE(obs[0].is_error) << args.dump();
    EXPECT_EQ(obs[0].metadata, "system_error");
    EXPECT_FALSE(obs[0].text.empty());
  }
  BrowserConfig bad;
  bad.search.kind = SearchProviderKind::kLocal;
  bad.search.index_path = "/nonexistent/index.bm25";
  auto b = make_browser_tool(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("/nonexistent/index.bm25"), std::string::npos);
}

}  // namespace
}  // namespace alltools::tools::browser::detail
