// Policy loader and every shipped policy file, each against hostile input with an expected outcome.
#include "policies/policy.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "policies/network_rules.h"

namespace alltools::policies {
namespace {

std::string shipped(const std::string& name) { return std::string(ALLTOOLS_SOURCE_DIR) + "/policies/" + name; }

Policy load_shipped(const std::string& name) {
  auto p = load_policy_file(shipped(name));
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : Policy{};
}

void expect_denied(const Policy& p, const std::string& url) {
  Status s = p.check_url(url);
  ASSERT_FALSE(s.ok()) << p.source << " let through " << url;
  EXPECT_EQ(s.error().code, ErrorCode::kDenied);
  EXPECT_NE(s.error().message.find(url), std::string::npos) << s.error().message;
}

void expect_allowed(const Policy& p, const std::string& url) {
  Status s = p.check_url(url);
  EXPECT_TRUE(s.ok()) << url << ": " << (s.ok() ? "" : s.error().message);
}

TEST(PolicyFiles, EveryShippedPolicyLoads) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(ALLTOOLS_SOURCE_DIR) + "/policies")) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name == "policy.schema.json") continue;
    auto p = load_policy_file(entry.path().string());
    EXPECT_TRUE(p.ok()) << name << ": " << (p.ok() ? "" : p.error().message);
    ++count;
  }
  EXPECT_GE(count, 4);
}

TEST(PolicyFiles, DefaultIsTheShippedFile) {
  Policy file = load_shipped("default.json");
  const Policy& builtin = default_policy();
  EXPECT_EQ(file.tools, builtin.tools);
  EXPECT_EQ(file.browser, builtin.browser);
  EXPECT_EQ(file.sandbox, builtin.sandbox);
  EXPECT_EQ(file.limits, builtin.limits);
  EXPECT_EQ(builtin.limits.tool_calls_per_turn, 10);
}

TEST(DefaultPolicy, RefusesSsrfTargetsAndAsksForUnknownFunctions) {
  const Policy& p = default_policy();
  for (const char* url : {"http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8080/admin",
                          "http://0x7f000001/", "http://2130706433/", "http://127.1/", "http://[::1]/",
                          "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::a00:1]/", "http://[fd00:ec2::254]/",
                          "http://10.1.2.3/", "http://100.100.100.200/", "http://public@example.com/",
                          "file:///etc/passwd", "gopher://example.com/", "http://localhost:3000/",
                          "http://metadata.google.internal/computeMetadata/v1/", "http://printer.local/",
                          "javascript:alert(1)", "http://0.0.0.0/"}) {
    expect_denied(p, url);
  }
  expect_allowed(p, "https://en.wikipedia.org/wiki/Prime_number");
  expect_allowed(p, "http://93.184.216.34/index.html");
  EXPECT_EQ(p.approval_for("python"), Approval::kAllow);
  EXPECT_EQ(p.approval_for("delete_all_files"), Approval::kAsk);
  EXPECT_FALSE(p.sandbox.network);
}

TEST(StrictPolicy, OnlyListedHostsAndEverythingAsks) {
  Policy p = load_shipped("strict.json");
  expect_allowed(p, "https://en.wikipedia.org/wiki/GLM");
  expect_allowed(p, "https://docs.python.org/3/");
  expect_denied(p, "https://wikipedia.org.evil.example/");
  expect_denied(p, "https://evilwikipedia.org/");
  expect_denied(p, "https://wikipedia.org/");  // "*." matches sub-domains, not the apex
  expect_denied(p, "https://docs.python.org@evil.example/");
  EXPECT_EQ(p.approval_for("python"), Approval::kAsk);
  EXPECT_EQ(p.approval_for("cogview"), Approval::kDeny);
  EXPECT_EQ(p.approval_for("transfer_money"), Approval::kDeny);
  EXPECT_EQ(p.limits.tool_calls_per_turn, 5);
}

TEST(OfflinePolicy, BrowserDisabledFunctionsRun) {
  Policy p = load_shipped("offline.json");
  EXPECT_FALSE(p.enabled("simple_browser"));
  EXPECT_FALSE(p.enabled("cogview"));
  EXPECT_EQ(p.approval_for("get_weather"), Approval::kAllow);
  // Sections it leaves out keep the safe defaults.
  EXPECT_EQ(p.browser, default_policy().browser);
  EXPECT_EQ(p.sandbox, default_policy().sandbox);
  expect_denied(p, "http://169.254.169.254/");
}

TEST(IntranetPolicy, PrivateAddressesOnlyForListedHosts) {
  Policy p = load_shipped("intranet.json");
  expect_allowed(p, "http://wiki.corp.example/page");
  expect_allowed(p, "https://a.docs.corp.example/x");
  expect_denied(p, "http://admin.corp.example/");
  expect_denied(p, "http://10.0.0.5/");
  expect_denied(p, "http://169.254.169.254/latest/meta-data/");
}

Error parse_error_of(const std::string& text) {
  auto p = parse_policy(text, "hostile.json");
  EXPECT_FALSE(p.ok()) << "accepted: " << text;
  return p.ok() ? Error{} : p.error();
}

TEST(PolicyParser, HostileFilesFailWithThePathAndReason) {
  Error e = parse_error_of(R"({"tools": {"python": "yes"}})");
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(e.message.find("hostile.json"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("/tools/python"), std::string::npos) << e.message;

  e = parse_error_of(R"({"sandbox": {"memory_mb": -1}})");
  EXPECT_NE(e.message.find("/sandbox/memory_mb"), std::string::npos) << e.message;

  e = parse_error_of(R"({"sandbox": {"memory_mb": 1e15}})");
  EXPECT_NE(e.message.find("/sandbox/memory_mb"), std::string::npos) << e.message;

  e = parse_error_of(R"({"sandbx": {}})");
  EXPECT_NE(e.message.find("sandbx"), std::string::npos) << e.message;

  e = parse_error_of(R"({"limits": {"tool_calls_per_turn": 0}})");
  EXPECT_NE(e.message.find("/limits/tool_calls_per_turn"), std::string::npos) << e.message;

  e = parse_error_of(R"({"browser": {"allow_hosts": ["http://evil.example/"]}})");
  EXPECT_NE(e.message.find("/browser/allow_hosts/0"), std::string::npos) << e.message;

  e = parse_error_of(R"({"limits": {"turn_seconds": 10, "tool_call_seconds": 60}})");
  EXPECT_NE(e.message.find("/limits/tool_call_seconds"), std::string::npos) << e.message;

  e = parse_error_of(R"({"tools": {"python": "allow")");
  EXPECT_EQ(e.code, ErrorCode::kParse);

  e = parse_error_of(R"([1, 2, 3])");
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);

  e = parse_error_of(std::string(2 << 20, ' '));
  EXPECT_EQ(e.code, ErrorCode::kOutOfRange);
}

TEST(PolicyParser, MissingFileNamesThePath) {
  auto p = load_policy_file("/nonexistent/policy.json");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kNotFound);
  EXPECT_NE(p.error().message.find("/nonexistent/policy.json"), std::string::npos);
}

TEST(NetworkRules, AddressClasses) {
  bool priv = false;
  EXPECT_TRUE(is_ip_literal("8.8.8.8", &priv));
  EXPECT_FALSE(priv);
  EXPECT_TRUE(is_ip_literal("[2606:4700::1111]", &priv));
  EXPECT_FALSE(priv);
  EXPECT_TRUE(is_ip_literal("[2002:7f00:1::]", &priv));  // 6to4 wrapping 127.0.0.1
  EXPECT_TRUE(priv);
  EXPECT_TRUE(is_ip_literal("[fe80::1%25eth0]", &priv));
  EXPECT_TRUE(priv);
  EXPECT_FALSE(is_ip_literal("example.com", &priv));
  EXPECT_TRUE(host_matches("*.Example.COM", "a.b.example.com."));
  EXPECT_FALSE(host_matches("*.example.com", "example.com"));
  EXPECT_FALSE(host_matches("example.com", "notexample.com"));
}

}  // namespace
}  // namespace alltools::policies
