#include "tools/functions/function_registry.h"

#include <fstream>
#include <sstream>

#include "tools/functions/function_tool.h"
#include "tools/functions/mcp_client.h"

namespace alltools::tools::functions {

struct FunctionRegistry::Entry {
  ToolSpec spec;
  FunctionSpec function;
  std::shared_ptr<const detail::SchemaValidator> validator;
  CppFunction invoker;
};

FunctionRegistry::FunctionRegistry() = default;
FunctionRegistry::~FunctionRegistry() = default;

namespace {
Result<std::shared_ptr<const detail::SchemaValidator>> checked_validator(const FunctionSpec& spec) {
  ALLTOOLS_RETURN_IF_ERROR(detail::check_function_name(spec.name));
  auto v = detail::SchemaValidator::compile(spec.parameters);
  if (!v.ok()) return v.error().context("function '" + spec.name + "'");
  return v;
}
}  // namespace

Status FunctionRegistry::add_entry(std::unique_ptr<Entry> entry) {
  for (const auto& e : entries_) {
    if (e->function.name == entry->function.name) {
      return make_error(ErrorCode::kInvalidArgument, "function '" + entry->function.name + "' is already registered");
    }
  }
  entries_.push_back(std::move(entry));
  return ok_status();
}

Status FunctionRegistry::add(FunctionSpec spec, CppFunction fn) {
  if (!fn) return make_error(ErrorCode::kInvalidArgument, "function '" + spec.name + "' has no callable");
  ALLTOOLS_ASSIGN_OR_RETURN(auto validator, checked_validator(spec));
  auto e = std::make_unique<Entry>();
  e->spec = detail::function_tool_spec(spec);
  e->function = std::move(spec);
  e->validator = std::move(validator);
  e->invoker = std::move(fn);
  return add_entry(std::move(e));
}

Status FunctionRegistry::add_executable(ExecutableFunction function) {
  if (function.command.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "function '" + function.spec.name + "' has no command");
  }
  FunctionSpec spec = function.spec;
  return add(std::move(spec), detail::executable_invoker(std::move(function)));
}

Status FunctionRegistry::load_manifest(const std::filesystem::path& manifest) {
  ALLTOOLS_ASSIGN_OR_RETURN(auto functions, load_executable_manifest(manifest));
  for (auto& f : functions) {
    Status s = add_executable(std::move(f));
    if (!s.ok()) return s.error().context("manifest " + manifest.string());
  }
  return ok_status();
}

Status FunctionRegistry::connect_mcp(const McpServerConfig& server) {
  ALLTOOLS_ASSIGN_OR_RETURN(std::shared_ptr<McpClient> client, McpClient::start(server));
  ALLTOOLS_ASSIGN_OR_RETURN(auto tools, client->list_tools());
  for (auto& t : tools) {
    FunctionSpec spec{t.name, t.description, t.input_schema};
    const std::string tool_name = t.name;
    CppFunction invoke = [client, tool_name](const nlohmann::json& args, const ToolContext& ctx) -> Result<nlohmann::json> {
      ALLTOOLS_ASSIGN_OR_RETURN(McpCallResult r, client->call_tool(tool_name, args, ctx.deadline, ctx.cancel));
      if (r.is_error) return make_error(ErrorCode::kInternal, r.text.empty() ? "the tool reported an error" : r.text);
      return nlohmann::json(std::move(r.text));
    };
    Status s = add(std::move(spec), std::move(invoke));
    if (!s.ok()) return s.error().context("MCP server '" + server.name + "'");
  }
  mcp_clients_.push_back(std::move(client));
  return ok_status();
}

Status FunctionRegistry::load_mcp_config(const std::filesystem::path& config_file) {
  std::ifstream in(config_file, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot open MCP config " + config_file.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return make_error(ErrorCode::kParse, "MCP config " + config_file.string() + " is not valid JSON");
  auto servers = parse_mcp_config(j);
  if (!servers.ok()) return servers.error().context("MCP config " + config_file.string());
  for (auto& s : servers.value()) {
    if (s.cwd.is_relative() && !s.cwd.empty()) s.cwd = std::filesystem::absolute(config_file).parent_path() / s.cwd;
    ALLTOOLS_RETURN_IF_ERROR(connect_mcp(s));
  }
  return ok_status();
}

Result<std::vector<McpServerConfig>> parse_mcp_config(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("mcpServers") || !config["mcpServers"].is_object()) {
    return make_error(ErrorCode::kParse, "expected {\"mcpServers\": {\"<name>\": {\"command\": ...}}}");
  }
  std::vector<McpServerConfig> out;
  for (auto it = config["mcpServers"].begin(); it != config["mcpServers"].end(); ++it) {
    const auto& s = it.value();
    McpServerConfig c;
    c.name = it.key();
    auto bad = [&](const std::string& m) { return make_error(ErrorCode::kParse, "mcpServers." + c.name + ": " + m); };
    if (!s.is_object()) return bad("must be an object");
    if (s.value("disabled", false)) continue;
    if (s.contains("type") && s["type"] != "stdio") return bad("only the stdio transport is supported");
    if (!s.contains("command") || !s["command"].is_string()) return bad("'command' must be a string");
    c.command = s["command"].get<std::string>();
    if (s.contains("args")) {
      if (!s["args"].is_array()) return bad("'args' must be an array of strings");
      for (const auto& a : s["args"]) {
        if (!a.is_string()) return bad("'args' must be an array of strings");
        c.args.push_back(a.get<std::string>());
      }
    }
    if (s.contains("env")) {
      if (!s["env"].is_object()) return bad("'env' must be an object of strings");
      for (auto e = s["env"].begin(); e != s["env"].end(); ++e) {
        if (!e.value().is_string()) return bad("env '" + e.key() + "' must be a string");
        c.env[e.key()] = e.value().get<std::string>();
      }
    }
    if (s.contains("cwd")) {
      if (!s["cwd"].is_string()) return bad("'cwd' must be a string");
      c.cwd = s["cwd"].get<std::string>();
    }
    if (s.contains("timeout_ms")) {
      if (!s["timeout_ms"].is_number_unsigned()) return bad("'timeout_ms' must be a positive integer");
      c.call_timeout = std::chrono::milliseconds(s["timeout_ms"].get<std::uint64_t>());
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::unique_ptr<Tool>> FunctionRegistry::make_tools() const {
  std::vector<std::unique_ptr<Tool>> tools;
  for (const auto& e : entries_) tools.push_back(std::make_unique<detail::FunctionTool>(e->spec, e->validator, e->invoker));
  return tools;
}

std::vector<FunctionSpec> FunctionRegistry::specs() const {
  std::vector<FunctionSpec> out;
  for (const auto& e : entries_) out.push_back(e->function);
  return out;
}

std::size_t FunctionRegistry::size() const { return entries_.size(); }

Result<std::unique_ptr<Tool>> make_cpp_function_tool(FunctionSpec spec, CppFunction fn) {
  if (!fn) return make_error(ErrorCode::kInvalidArgument, "function '" + spec.name + "' has no callable");
  ALLTOOLS_ASSIGN_OR_RETURN(auto validator, checked_validator(spec));
  ToolSpec ts = detail::function_tool_spec(spec);
  return std::unique_ptr<Tool>(std::make_unique<detail::FunctionTool>(std::move(ts), std::move(validator), std::move(fn)));
}

}  // namespace alltools::tools::functions
