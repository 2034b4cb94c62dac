// Per-call overhead of user functions, each kind measured through its Tool (schema validation included):
// an in-process C++ function, an executable (fork/exec + pipes + wait), and an MCP tools/call round trip to the
// real server-everything (if installed). Prints median and p90 in microseconds.
//   build/bin/bench_function_calls [--calls N] [--mcp-script PATH/server-everything/dist/index.js]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tools/functions/function_registry.h"

namespace fn = alltools::tools::functions;
using nlohmann::json;

namespace {

void report(const char* what, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  std::printf("%-34s calls=%-5zu median=%9.1f us  p90=%9.1f us\n", what, us.size(), us[us.size() / 2],
              us[us.size() * 9 / 10]);
}

std::vector<double> time_calls(alltools::tools::Tool& tool, const json& args, int calls) {
  std::vector<double> us;
  for (int i = 0; i < calls; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto obs = tool.invoke(args, {});
    auto t1 = std::chrono::steady_clock::now();
    if (obs.empty() || obs[0].is_error) {
      std::fprintf(stderr, "call failed: %s\n", obs.empty() ? "no observation" : obs[0].text.c_str());
      std::exit(1);
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  int calls = 200;
  std::string mcp_script = std::string(ALLTOOLS_SOURCE_DIR) +
                           "/tests/functions/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--calls") calls = std::atoi(argv[i + 1]);
    if (a == "--mcp-script") mcp_script = argv[i + 1];
  }
  const auto schema = nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]})");
  const json args = {{"a", 2}, {"b", 3}};

  fn::FunctionRegistry reg;
  (void)reg.add({"add", "adds", schema}, [](const json& a, const alltools::tools::ToolContext&) -> alltools::Result<json> {
    return json(a["a"].get<int>() + a["b"].get<int>());
  });
  fn::ExecutableFunction exe;
  exe.spec = {"cat_args", "echoes its arguments", schema};
  exe.command = {"/bin/cat"};
  (void)reg.add_executable(exe);
  auto tools = reg.make_tools();
  report("C++ function (validate + call)", time_calls(*tools[0], args, calls * 10));
  report("executable /bin/cat (spawn+wait)", time_calls(*tools[1], args, calls));

  if (std::filesystem::exists(mcp_script)) {
    fn::FunctionRegistry mcp;
    fn::McpServerConfig server;
    server.name = "everything";
    server.command = "node";
    server.args = {mcp_script, "stdio"};
    auto t0 = std::chrono::steady_clock::now();
    auto s = mcp.connect_mcp(server);
    auto t1 = std::chrono::steady_clock::now();
    if (!s.ok()) {
      std::fprintf(stderr, "MCP: %s\n", s.error().message.c_str());
      return 1;
    }
    std::printf("%-34s %.1f ms (%zu tools)\n", "MCP start+initialize+tools/list",
                std::chrono::duration<double, std::milli>(t1 - t0).count(), mcp.size());
    for (auto& t : mcp.make_tools()) {
      if (t->spec().name == "get-sum") report("MCP tools/call get-sum (node)", time_calls(*t, args, calls));
    }
  } else {
    std::printf("MCP: %s not installed (run scripts/test-setup.sh)\n", mcp_script.c_str());
  }
  return 0;
}
