// `alltools tools`: the tools a session would get under the current policy and configuration, with their status
// (sandbox layers, search provider, image backend, user functions), and the policy in force.
#include <cstdio>
#include <string>
#include <vector>

#include "apps/alltools/agent_session.h"
#include "apps/alltools/command.h"
#include "tools/python/python_tool.h"

namespace alltools::app {
namespace {

int run_tools(int argc, char** argv) {
  bool schema = false;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--policy-schema") schema = true;
    else rest.push_back(argv[i]);
  }
  if (schema) {
    std::printf("%.*s", static_cast<int>(policies::policy_schema_text().size()), policies::policy_schema_text().data());
    return 0;
  }
  std::vector<std::string> positional;
  auto flags = parse_agent_flags(static_cast<int>(rest.size()), rest.data(), &positional);
  if (!flags.ok()) {
    std::fprintf(stderr, "alltools tools: %s\n", flags.error().message.c_str());
    return kExitUsage;
  }
  if (flags->help) {
    std::printf("usage: alltools tools [options] [--policy-schema]\n\n"
                "Lists the tools an agent session would get (same flags as `run`) and why any is missing, the\n"
                "sandbox's isolation layers, and the policy's limits. --policy-schema prints the policy JSON schema.\n\n%s",
                agent_flags_help());
    return 0;
  }
  RuntimeParts parts;
  parts.model = false;
  parts.session = false;
  auto rt = build_runtime(*flags, parts, nullptr);
  if (!rt.ok()) {
    std::fprintf(stderr, "alltools tools: %s\n", rt.error().message.c_str());
    return kExitError;
  }
  const policies::Policy& p = (*rt)->policy;
  std::printf("policy: %s%s\n", p.source.c_str(), p.description.empty() ? "" : (" — " + p.description).c_str());
  std::printf("tools:\n");
  for (const auto& line : (*rt)->tool_status) std::printf("  %s\n", line.c_str());
  std::printf("python sandbox layers:\n%s", tools::python_isolation_report().to_string().c_str());
  std::printf("limits: %d tool calls/turn, %.0f s/turn, %.0f s/call, %ld tokens/turn, %ld bytes/observation\n",
              p.limits.tool_calls_per_turn, p.limits.turn_seconds, p.limits.tool_call_seconds, p.limits.tokens_per_turn,
              p.limits.observation_bytes);
  auto embedded = embedded_model_dir();
  std::printf("default model: %s\n", embedded ? embedded->c_str() : "(none found; use --model or --endpoint)");
  return 0;
}

}  // namespace
}  // namespace alltools::app

ALLTOOLS_COMMAND("tools", "list the agent's tools and their status under the policy", alltools::app::run_tools);
