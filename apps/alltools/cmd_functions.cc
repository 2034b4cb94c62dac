// `alltools functions`: load user functions (Python plugins, executable manifests, MCP servers) and list or call
// them exactly as the agent would (schema validation included) — to try a plugin without a model.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "apps/alltools/command.h"
#include "bindings/python/python_plugin.h"
#include "tools/functions/function_registry.h"

namespace {

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: alltools functions list [SOURCES...]\n"
               "       alltools functions call NAME ['{\"arg\": ...}'] [SOURCES...] [--timeout-ms N]\n\n"
               "SOURCES (each may repeat):\n"
               "  --plugin FILE.py     Python functions declared with @alltools.function (in-process, trusted code)\n"
               "  --manifest FILE.json executables: {\"functions\": [{name, description, parameters, command, ...}]}\n"
               "  --mcp FILE.json      MCP servers over stdio: {\"mcpServers\": {\"name\": {command, args, env}}}\n"
               "list prints each function as the system prompt shows it; call prints the observation the model would\n"
               "get (exit 0), or the error observation (exit 1). Bad usage or a source that fails to load: exit 2.\n");
}

int run_functions(int argc, char** argv) {
  using namespace alltools::tools;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string action = argv[1];
  if (action != "list" && action != "call") {
    std::fprintf(stderr, "functions: unknown action '%s'\n\n", action.c_str());
    usage(stderr);
    return 2;
  }
  functions::FunctionRegistry registry;
  std::vector<std::string> positional;
  long timeout_ms = 60'000;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    }
    if (arg == "--plugin" || arg == "--manifest" || arg == "--mcp" || arg == "--timeout-ms") {
      const char* v = alltools::app::flag_value(argc, argv, i, "functions");
      if (v == nullptr) return 2;
      const std::string value = v;
      alltools::Status s;
      if (arg == "--plugin") s = alltools::python::load_python_plugin(value, registry);
      if (arg == "--manifest") s = registry.load_manifest(value);
      if (arg == "--mcp") s = registry.load_mcp_config(value);
      if (arg == "--timeout-ms") timeout_ms = std::strtol(value.c_str(), nullptr, 10);
      if (!s.ok()) {
        std::fprintf(stderr, "functions: %s\n", s.error().message.c_str());
        return 2;
      }
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "functions: unknown option '%s'\n", arg.c_str());
      return 2;
    } else {
      positional.push_back(arg);
    }
  }
  auto tools = registry.make_tools();
  if (action == "list") {
    for (const auto& t : tools) {
      std::printf("## %s\n\n%s\n\n", t->spec().name.c_str(), t->spec().function.dump(4).c_str());
    }
    std::fprintf(stderr, "%zu function(s)\n", tools.size());
    return 0;
  }
  if (positional.empty() || positional.size() > 2) {
    usage(stderr);
    return 2;
  }
  nlohmann::json args = nlohmann::json::object();
  if (positional.size() == 2) {
    args = nlohmann::json::parse(positional[1], nullptr, false);
    if (args.is_discarded()) {
      std::fprintf(stderr, "functions: the arguments are not valid JSON\n");
      return 2;
    }
  }
  for (const auto& t : tools) {
    if (t->spec().name != positional[0]) continue;
    ToolContext ctx;
    ctx.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    auto obs = t->invoke(args, ctx);
    bool error = false;
    for (const auto& o : obs) {
      std::printf("%s\n", o.text.c_str());
      error = error || o.is_error;
    }
    return error ? 1 : 0;
  }
  std::fprintf(stderr, "functions: no function named '%s' (%zu loaded)\n", positional[0].c_str(), tools.size());
  return 2;
}

}  // namespace

ALLTOOLS_COMMAND("functions", "list or call user functions from Python plugins, manifests and MCP servers",
                 run_functions);
