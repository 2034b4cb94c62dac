// Executable functions: manifest parsing and the invoker that runs one process per call.
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "tools/functions/function_registry.h"
#include "tools/functions/function_tool.h"
#include "tools/functions/subprocess.h"

namespace alltools::tools::functions {

namespace detail {
namespace {
constexpr std::size_t kMaxManifestBytes = 1 << 20;
constexpr std::size_t kMaxErrorTail = 2000;  // bytes of stderr quoted in an error observation

bool is_valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

std::string tail(const std::string& s, std::size_t n) {
  std::string t = s.size() > n ? "..." + s.substr(s.size() - n) : s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

Result<nlohmann::json> run_executable(const ExecutableFunction& f, const nlohmann::json& args, const ToolContext& ctx) {
  SpawnOptions opt;
  opt.argv = f.command;
  opt.cwd = f.working_dir;
  opt.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
             "HOME=" + (f.working_dir.empty() ? std::string("/tmp") : f.working_dir.string())};
  for (const auto& [k, v] : f.env) opt.env.push_back(k + "=" + v);
  auto child = Subprocess::spawn(opt);
  if (!child.ok()) return child.error();
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = ctx.deadline - start < f.limits.timeout ? ctx.deadline : start + f.limits.timeout;
  RunOutput out = run_to_completion(child.value(), args.dump() + "\n", f.limits.max_output_bytes,
                                    f.limits.max_stderr_bytes, deadline, ctx.cancel);
  if (out.cancelled) return make_error(ErrorCode::kCancelled, "the call was cancelled and the process killed");
  if (out.timed_out) {
    const auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - start).count();
    return make_error(ErrorCode::kTimeout,
                      "timed out: no result within " + std::to_string(budget) + " ms; the process was killed");
  }
  if (out.stdout_overflow) {
    return make_error(ErrorCode::kResourceExhausted, "the output exceeded " +
                                                         std::to_string(f.limits.max_output_bytes) +
                                                         " bytes; the process was killed");
  }
  const int st = out.wait_status;
  const bool success = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  if (!success) {
    nlohmann::json parsed = nlohmann::json::parse(out.stdout_data, nullptr, /*allow_exceptions=*/false);
    std::string msg = "the process " + describe_exit(st);
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
      msg += ": " + parsed["error"].get<std::string>();
    } else if (!out.stderr_data.empty()) {
      msg += "; stderr: " + tail(out.stderr_data, kMaxErrorTail);
    }
    return make_error(ErrorCode::kInternal, msg);
  }
  if (!is_valid_utf8(out.stdout_data)) {
    return make_error(ErrorCode::kParse, "the process printed bytes that are not UTF-8 text");
  }
  std::string text = out.stdout_data;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return nlohmann::json(std::move(text));
}

Result<ExecutableFunction> parse_function(const nlohmann::ordered_json& j, const std::filesystem::path& base) {
  if (!j.is_object()) return make_error(ErrorCode::kParse, "a function entry must be an object");
  ExecutableFunction f;
  static const char* kKnown[] = {"name", "description", "parameters", "command", "working_dir", "env",
                                 "timeout_ms", "max_output_bytes"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    if (!known) return make_error(ErrorCode::kParse, "unknown key '" + it.key() + "'");
  }
  if (!j.contains("name") || !j["name"].is_string()) return make_error(ErrorCode::kParse, "'name' must be a string");
  f.spec.name = j["name"].get<std::string>();
  auto where = [&](const std::string& m) { return make_error(ErrorCode::kParse, "function '" + f.spec.name + "': " + m); };
  if (j.contains("description")) {
    if (!j["description"].is_string()) return where("'description' must be a string");
    f.spec.description = j["description"].get<std::string>();
  }
  if (j.contains("parameters")) {
    if (!j["parameters"].is_object()) return where("'parameters' must be a JSON schema object");
    f.spec.parameters = j["parameters"];
  }
  if (!j.contains("command")) return where("'command' is missing");
  const auto& cmd = j["command"];
  if (cmd.is_string()) {
    f.command = {cmd.get<std::string>()};
  } else if (cmd.is_array() && !cmd.empty()) {
    for (const auto& a : cmd) {
      if (!a.is_string()) return where("'command' must be an array of strings");
      f.command.push_back(a.get<std::string>());
    }
  } else {
    return where("'command' must be a non-empty array of strings");
  }
  // A relative program path with a '/' ("./weather.sh", "bin/x") is relative to the manifest's folder.
  if (f.command[0].find('/') != std::string::npos && std::filesystem::path(f.command[0]).is_relative()) {
    f.command[0] = (base / f.command[0]).lexically_normal().string();
  }
  f.working_dir = base;
  if (j.contains("working_dir")) {
    if (!j["working_dir"].is_string()) return where("'working_dir' must be a string");
    std::filesystem::path wd = j["working_dir"].get<std::string>();
    f.working_dir = wd.is_relative() ? (base / wd).lexically_normal() : wd;
  }
  if (j.contains("env")) {
    if (!j["env"].is_object()) return where("'env' must be an object of strings");
    for (auto it = j["env"].begin(); it != j["env"].end(); ++it) {
      if (!it.value().is_string()) return where("env '" + it.key() + "' must be a string");
      f.env[it.key()] = it.value().get<std::string>();
    }
  }
  if (j.contains("timeout_ms")) {
    if (!j["timeout_ms"].is_number_unsigned() || j["timeout_ms"].get<std::uint64_t>() == 0) {
      return where("'timeout_ms' must be a positive integer");
    }
    f.limits.timeout = std::chrono::milliseconds(j["timeout_ms"].get<std::uint64_t>());
  }
  if (j.contains("max_output_bytes")) {
    if (!j["max_output_bytes"].is_number_unsigned()) return where("'max_output_bytes' must be a positive integer");
    f.limits.max_output_bytes = j["max_output_bytes"].get<std::size_t>();
  }
  return f;
}
}  // namespace

CppFunction executable_invoker(ExecutableFunction f) {
  auto shared = std::make_shared<const ExecutableFunction>(std::move(f));
  return [shared](const nlohmann::json& args, const ToolContext& ctx) { return run_executable(*shared, args, ctx); };
}

}  // namespace detail

Result<std::vector<ExecutableFunction>> parse_executable_manifest(std::string_view text,
                                                                  const std::filesystem::path& base_dir) {
  if (text.size() > detail::kMaxManifestBytes) return make_error(ErrorCode::kOutOfRange, "larger than 1 MiB");
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error(ErrorCode::kParse, "not valid JSON");
  const bool list = j.is_object() && j.contains("functions");
  if (list && !j["functions"].is_array()) return make_error(ErrorCode::kParse, "'functions' must be an array");
  const nlohmann::ordered_json entries = list ? j["functions"] : nlohmann::ordered_json::array({j});
  std::vector<ExecutableFunction> out;
  for (const auto& e : entries) {
    ALLTOOLS_ASSIGN_OR_RETURN(ExecutableFunction f, detail::parse_function(e, base_dir));
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::vector<ExecutableFunction>> load_executable_manifest(const std::filesystem::path& manifest) {
  std::ifstream in(manifest, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot open manifest " + manifest.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  auto r = parse_executable_manifest(ss.str(), std::filesystem::absolute(manifest).parent_path());
  if (!r.ok()) return r.error().context("manifest " + manifest.string());
  return r;
}

Result<std::unique_ptr<Tool>> make_executable_function_tool(ExecutableFunction function) {
  ALLTOOLS_RETURN_IF_ERROR(detail::check_function_name(function.spec.name));
  if (function.command.empty()) return make_error(ErrorCode::kInvalidArgument, "function '" + function.spec.name + "' has no command");
  auto validator = detail::SchemaValidator::compile(function.spec.parameters);
  if (!validator.ok()) return validator.error().context("function '" + function.spec.name + "'");
  ToolSpec spec = detail::function_tool_spec(function.spec);
  return std::unique_ptr<Tool>(std::make_unique<detail::FunctionTool>(
      std::move(spec), std::move(validator).value(), detail::executable_invoker(std::move(function))));
}

}  // namespace alltools::tools::functions
