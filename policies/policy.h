// Policy: what an agent may run, as data. A policy file is JSON validated against policies/policy.schema.json
// (embedded at build time) plus semantic checks; every error names the file, the JSON path and why.
// Missing sections keep the shipped safe defaults (policies/default.json, also embedded).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace alltools::policies {

// Per tool: run without asking, ask a person for each call, or disable the tool entirely.
enum class Approval { kAllow, kAsk, kDeny };
std::string_view approval_name(Approval a);

struct BrowserRules {
  std::vector<std::string> allow_hosts;  // empty = any public host; "*.example.com" matches sub-domains only
  std::vector<std::string> deny_hosts;   // checked first; same pattern syntax
  bool allow_private_addresses = false;  // loopback, RFC 1918, link-local (cloud metadata), ULA, ...
  long max_page_bytes = 2 * 1024 * 1024;
  double fetch_timeout_seconds = 20.0;
  friend bool operator==(const BrowserRules&, const BrowserRules&) = default;
};

struct SandboxLimits {
  long memory_mb = 1024;
  long cpu_seconds = 120;
  double wall_seconds = 60.0;
  long pids = 64;
  long disk_mb = 512;
  bool network = false;
  friend bool operator==(const SandboxLimits&, const SandboxLimits&) = default;
};

// Step and time limits of the agent loop (per user turn).
struct StepLimits {
  int tool_calls_per_turn = 10;     // the GLM-4 reference demo's cap
  double turn_seconds = 900.0;      // wall time of one user turn, model and tools together
  double tool_call_seconds = 120.0; // deadline of a single tool call
  long tokens_per_turn = 16384;     // generated tokens per user turn
  long observation_bytes = 16384;   // bytes of one observation text shown to the model (rest truncated)
  int repeated_calls = 2;           // identical calls (same tool, same arguments) allowed before the detector stops them
  friend bool operator==(const StepLimits&, const StepLimits&) = default;
};

struct Policy {
  std::string source;                       // file path or "<default>"
  std::string description;
  std::map<std::string, Approval> tools;    // by tool name; "default" covers the rest
  BrowserRules browser;
  SandboxLimits sandbox;
  StepLimits limits;

  // The approval for a tool by name (user functions fall back to "default"; without one, kAsk).
  Approval approval_for(std::string_view tool) const;
  bool enabled(std::string_view tool) const { return approval_for(tool) != Approval::kDeny; }

  // Whether the browser may fetch `url` by name and literal address: scheme http/https only, no userinfo, deny
  // list, allow list, and IP literals in private/reserved ranges unless allowed. kDenied with the reason. The
  // fetcher must still vet the address it connects to after DNS (see sandbox.md §7); this is the policy half.
  Status check_url(std::string_view url) const;
};

// The shipped default (policies/default.json).
const Policy& default_policy();

// Parses policy JSON text; `source` names it in errors. Errors: kParse (not JSON), kInvalidArgument (schema or
// semantic violation, with the JSON path).
Result<Policy> parse_policy(std::string_view json_text, std::string_view source);

// Reads and parses a policy file. Errors: kNotFound / kIo naming the path, then as parse_policy.
Result<Policy> load_policy_file(const std::string& path);

// The JSON schema text (for `alltools tools --policy-schema` and docs).
std::string_view policy_schema_text();

}  // namespace alltools::policies
