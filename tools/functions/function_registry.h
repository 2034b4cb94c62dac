// User-registered functions: the GLM-4 "function" tools a person adds in C++, as executables (JSON manifest),
// as MCP servers over stdio, or in Python (bindings/python, which registers into this same registry).
//
// Every function has a FunctionSpec {name, description, parameters (JSON schema)}; its Tool's spec() is
// kind kFunction with `function` = {"name","description","parameters"} in that key order (glm4-protocol.md §2).
// Every call is validated against `parameters` (valijson) before the function runs; a violation, a throw,
// garbage output, a hang (killed at the deadline) or a crash becomes an error Observation: the runtime survives.
//
// Thread-safety: a FunctionRegistry is filled once (add_*, load_*, connect_*) and then read-only; make_tools()
// may be called from several threads. Tools it makes are independent per session; MCP tools of one server
// share that server's client (which multiplexes concurrent calls by JSON-RPC id).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "tools/tool.h"

namespace alltools::tools::functions {

// What the model sees of a function. `parameters` is a JSON schema of type "object".
struct FunctionSpec {
  std::string name;  // [A-Za-z0-9_.-]{1,64}; not python / simple_browser / cogview
  std::string description;
  nlohmann::ordered_json parameters = nlohmann::ordered_json{{"type", "object"}, {"properties", nlohmann::ordered_json::object()}};
};

// A C++ function: gets the validated arguments, returns its result or an error (never throws; if it does,
// the exception is caught and becomes an error observation). A string result is shown to the model as is,
// any other JSON value the way Python's json.dumps(v, ensure_ascii=False) writes it (the layout GLM-4 saw).
using CppFunction = std::function<Result<nlohmann::json>(const nlohmann::json& args, const ToolContext& ctx)>;

// Limits for out-of-process functions. All loops reading a child are bounded by these.
struct ProcessLimits {
  std::chrono::milliseconds timeout{30'000};      // per call; the process group is killed (SIGKILL) after it
  std::size_t max_output_bytes = 1 << 20;         // stdout beyond this: the call fails, the child is killed
  std::size_t max_stderr_bytes = 64 << 10;        // stderr is kept (truncated) for error messages
};

// A function run as an executable: args JSON on stdin (one line), result on stdout. Exit status 0 → stdout (UTF-8,
// trailing newlines cut) is the observation text as printed. Non-zero exit → an error; if stdout is a JSON object
// with a string "error", that is the message, else the end of stderr.
// The child gets a clean environment: only PATH=/usr/bin:/bin, LANG=C.UTF-8, HOME=<working_dir> plus `env`.
struct ExecutableFunction {
  FunctionSpec spec;
  std::vector<std::string> command;    // argv; command[0] resolved relative to the manifest's folder if it has a '/'
  std::filesystem::path working_dir;   // empty: the manifest's folder (or the current directory)
  std::map<std::string, std::string> env;
  ProcessLimits limits;
};

// One MCP server (stdio transport), configured like other MCP clients: {"command","args","env","cwd"}.
struct McpServerConfig {
  std::string name;                    // the key in "mcpServers"; used in error messages
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to a clean environment (PATH, HOME, LANG are passed through)
  std::filesystem::path cwd;
  std::chrono::milliseconds startup_timeout{30'000};  // spawn + initialize + tools/list
  std::chrono::milliseconds call_timeout{60'000};     // per tools/call unless the ToolContext deadline is sooner
  std::size_t max_message_bytes = 16 << 20;           // one JSON-RPC line from the server
};

// Parses an executable-function manifest: either one object or {"functions": [ ... ]}, each
//   {"name", "description", "parameters", "command": [..] | "cmd", "working_dir"?, "env"?, "timeout_ms"?,
//    "max_output_bytes"?}
Result<std::vector<ExecutableFunction>> load_executable_manifest(const std::filesystem::path& manifest);
// The same from text; relative paths resolve against `base_dir`.
Result<std::vector<ExecutableFunction>> parse_executable_manifest(std::string_view text,
                                                                  const std::filesystem::path& base_dir);

// Parses {"mcpServers": {"name": {"command": "...", "args": [...], "env": {...}, "cwd"?, "timeout_ms"?}}}.
Result<std::vector<McpServerConfig>> parse_mcp_config(const nlohmann::json& config);

// Single tools, for callers that don't need a registry.
Result<std::unique_ptr<Tool>> make_cpp_function_tool(FunctionSpec spec, CppFunction fn);
Result<std::unique_ptr<Tool>> make_executable_function_tool(ExecutableFunction function);

class McpClient;  // tools/functions/mcp_client.h

class FunctionRegistry {
 public:
  FunctionRegistry();
  ~FunctionRegistry();
  FunctionRegistry(const FunctionRegistry&) = delete;
  FunctionRegistry& operator=(const FunctionRegistry&) = delete;

  // Each add_/load_/connect_ checks the spec (name syntax, unique name, schema compiles) and fails as a value.
  Status add(FunctionSpec spec, CppFunction fn);
  Status add_executable(ExecutableFunction function);
  Status load_manifest(const std::filesystem::path& manifest);
  // Starts the server, runs initialize + tools/list, registers every tool it lists (keeps the server running).
  Status connect_mcp(const McpServerConfig& server);
  // Reads an MCP config file ({"mcpServers": ...}) and connects every server in it.
  Status load_mcp_config(const std::filesystem::path& config_file);

  // Fresh Tool instances, one per registered function, in registration order.
  std::vector<std::unique_ptr<Tool>> make_tools() const;
  std::vector<FunctionSpec> specs() const;
  std::size_t size() const;

 private:
  struct Entry;
  Status add_entry(std::unique_ptr<Entry> entry);
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<std::shared_ptr<McpClient>> mcp_clients_;
};

}  // namespace alltools::tools::functions
