#include "policies/policy.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "policies/network_rules.h"

namespace alltools::policies {
namespace detail {
extern const std::string_view kPolicySchemaJson;
extern const std::string_view kDefaultPolicyJson;
}  // namespace detail

namespace {

using nlohmann::json;

constexpr size_t kMaxPolicyFileBytes = 1 << 20;

const valijson::Schema& compiled_schema() {
  static const valijson::Schema* schema = [] {
    auto* s = new valijson::Schema();
    const json doc = json::parse(detail::kPolicySchemaJson);  // build-time asset: a parse failure is a bug
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *schema;
}

// "<root>" ["tools"] ["python"] -> "/tools/python"
std::string json_path(const std::vector<std::string>& context) {
  std::string path;
  for (size_t i = 1; i < context.size(); ++i) {
    std::string part = context[i];
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']') part = part.substr(1, part.size() - 2);
    if (part.size() >= 2 && part.front() == '"' && part.back() == '"') part = part.substr(1, part.size() - 2);
    path += "/" + part;
  }
  return path.empty() ? "/" : path;
}

Status validate_schema(const json& doc, std::string_view source) {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(doc);
  if (validator.validate(compiled_schema(), target, &results)) return ok_status();
  // valijson reports the innermost failure last; show the most specific one first, then at most two more.
  std::vector<valijson::ValidationResults::Error> errors(results.begin(), results.end());
  std::string message = std::string(source) + ": policy does not follow policies/policy.schema.json:";
  int shown = 0;
  for (auto it = errors.rbegin(); it != errors.rend() && shown < 3; ++it, ++shown)
    message += "\n  at " + json_path(it->context) + ": " + it->description;
  return make_error(ErrorCode::kInvalidArgument, message);
}

Approval parse_approval(const std::string& s) {
  if (s == "allow") return Approval::kAllow;
  if (s == "ask") return Approval::kAsk;
  ALLTOOLS_CHECK_MSG(s == "deny", "schema admits only allow/ask/deny");
  return Approval::kDeny;
}

Status check_host_patterns(const std::vector<std::string>& patterns, std::string_view source, const char* key) {
  for (size_t i = 0; i < patterns.size(); ++i) {
    const std::string& p = patterns[i];
    const std::string_view rest = p.rfind("*.", 0) == 0 ? std::string_view(p).substr(2) : std::string_view(p);
    bool bad = p != "*" && (rest.empty() || rest.find_first_of("*/:@ ?#") != std::string_view::npos);
    if (bad)
      return make_error(ErrorCode::kInvalidArgument,
                        std::string(source) + ": at /browser/" + key + "/" + std::to_string(i) + ": '" + p +
                            "' is not a host pattern (use 'example.com', '*.example.com' or '*'; no scheme, port "
                            "or path)");
  }
  return ok_status();
}

Result<Policy> from_json(const json& doc, std::string_view source, Policy base) {
  ALLTOOLS_RETURN_IF_ERROR(validate_schema(doc, source));
  Policy p = std::move(base);
  p.source = std::string(source);
  if (doc.contains("description")) p.description = doc["description"].get<std::string>();
  if (doc.contains("tools")) {
    p.tools.clear();
    for (const auto& [name, value] : doc["tools"].items()) p.tools[name] = parse_approval(value.get<std::string>());
  }
  if (doc.contains("browser")) {
    const json& b = doc["browser"];
    if (b.contains("allow_hosts")) p.browser.allow_hosts = b["allow_hosts"].get<std::vector<std::string>>();
    if (b.contains("deny_hosts")) p.browser.deny_hosts = b["deny_hosts"].get<std::vector<std::string>>();
    if (b.contains("allow_private_addresses")) p.browser.allow_private_addresses = b["allow_private_addresses"];
    if (b.contains("max_page_bytes")) p.browser.max_page_bytes = b["max_page_bytes"];
    if (b.contains("fetch_timeout_seconds")) p.browser.fetch_timeout_seconds = b["fetch_timeout_seconds"];
    ALLTOOLS_RETURN_IF_ERROR(check_host_patterns(p.browser.allow_hosts, source, "allow_hosts"));
    ALLTOOLS_RETURN_IF_ERROR(check_host_patterns(p.browser.deny_hosts, source, "deny_hosts"));
  }
  if (doc.contains("sandbox")) {
    const json& s = doc["sandbox"];
    if (s.contains("memory_mb")) p.sandbox.memory_mb = s["memory_mb"];
    if (s.contains("cpu_seconds")) p.sandbox.cpu_seconds = s["cpu_seconds"];
    if (s.contains("wall_seconds")) p.sandbox.wall_seconds = s["wall_seconds"];
    if (s.contains("pids")) p.sandbox.pids = s["pids"];
    if (s.contains("disk_mb")) p.sandbox.disk_mb = s["disk_mb"];
    if (s.contains("network")) p.sandbox.network = s["network"];
  }
  if (doc.contains("limits")) {
    const json& l = doc["limits"];
    if (l.contains("tool_calls_per_turn")) p.limits.tool_calls_per_turn = l["tool_calls_per_turn"];
    if (l.contains("turn_seconds")) p.limits.turn_seconds = l["turn_seconds"];
    if (l.contains("tool_call_seconds")) p.limits.tool_call_seconds = l["tool_call_seconds"];
    if (l.contains("tokens_per_turn")) p.limits.tokens_per_turn = l["tokens_per_turn"];
    if (l.contains("observation_bytes")) p.limits.observation_bytes = l["observation_bytes"];
    if (l.contains("repeated_calls")) p.limits.repeated_calls = l["repeated_calls"];
  }
  if (p.limits.tool_call_seconds > p.limits.turn_seconds)
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(source) + ": at /limits/tool_call_seconds: " +
                          std::to_string(p.limits.tool_call_seconds) + " exceeds /limits/turn_seconds (" +
                          std::to_string(p.limits.turn_seconds) + ")");
  return p;
}

Result<json> parse_json(std::string_view text, std::string_view source) {
  try {
    return json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    return make_error(ErrorCode::kParse, std::string(source) + ": not valid JSON: " + e.what());
  }
}

}  // namespace

std::string_view approval_name(Approval a) {
  switch (a) {
    case Approval::kAllow: return "allow";
    case Approval::kAsk: return "ask";
    case Approval::kDeny: return "deny";
  }
  return "?";
}

Approval Policy::approval_for(std::string_view tool) const {
  if (auto it = tools.find(std::string(tool)); it != tools.end()) return it->second;
  if (auto it = tools.find("default"); it != tools.end()) return it->second;
  return Approval::kAsk;
}

Status Policy::check_url(std::string_view url) const {
  auto deny = [&](const std::string& why) {
    return make_error(ErrorCode::kDenied, "policy " + source + " denies " + std::string(url) + ": " + why);
  };
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return deny("not an absolute http(s) URL");
  std::string scheme(url.substr(0, scheme_end));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https") return deny("scheme '" + scheme + "' is not http or https");
  std::string_view rest = url.substr(scheme_end + 3);
  const size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  if (authority.find('@') != std::string_view::npos) return deny("URLs with user information are refused");
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return deny("malformed IPv6 host");
    host = host.substr(0, close + 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host.empty()) return deny("no host");
  for (const std::string& pattern : browser.deny_hosts)
    if (host_matches(pattern, host)) return deny("host matches deny_hosts entry '" + pattern + "'");
  if (!browser.allow_hosts.empty()) {
    bool listed = false;
    for (const std::string& pattern : browser.allow_hosts) listed = listed || host_matches(pattern, host);
    if (!listed) return deny("host is not in allow_hosts");
  }
  bool is_private = false;
  if (is_ip_literal(host, &is_private) && is_private && !browser.allow_private_addresses)
    return deny("private or reserved address (allow_private_addresses is false)");
  if (host_matches("localhost", host) || host_matches("*.localhost", host)) {
    if (!browser.allow_private_addresses) return deny("localhost (allow_private_addresses is false)");
  }
  return ok_status();
}

const Policy& default_policy() {
  static const Policy* policy = [] {
    auto doc = parse_json(detail::kDefaultPolicyJson, "<default>");
    ALLTOOLS_CHECK_MSG(doc.ok(), "policies/default.json must parse");
    auto p = from_json(*doc, "<default>", Policy{});
    ALLTOOLS_CHECK_MSG(p.ok(), "policies/default.json must follow the schema");
    return new Policy(std::move(p).value());
  }();
  return *policy;
}

Result<Policy> parse_policy(std::string_view json_text, std::string_view source) {
  if (json_text.size() > kMaxPolicyFileBytes)
    return make_error(ErrorCode::kOutOfRange, std::string(source) + ": policy larger than 1 MiB");
  ALLTOOLS_ASSIGN_OR_RETURN(json doc, parse_json(json_text, source));
  return from_json(doc, source, default_policy());
}

Result<Policy> load_policy_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "policy file " + path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::kIo, "policy file " + path + ": read failed");
  return parse_policy(text.str(), path);
}

std::string_view policy_schema_text() { return detail::kPolicySchemaJson; }

}  // namespace alltools::policies
