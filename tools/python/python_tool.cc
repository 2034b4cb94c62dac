#include "tools/python/python_tool.h"

#include <string_view>
#include <utility>

namespace alltools::tools {
namespace {

// Removes ANSI escape sequences (CSI "ESC [ ... final byte" and two-byte "ESC x") from text for the model.
std::string strip_ansi(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\x1b') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 1 < in.size() && in[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < in.size() && !(in[j] >= 0x40 && in[j] <= 0x7e)) ++j;
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

void add_part(std::string& text, std::string part) {
  while (!part.empty() && part.back() == '\n') part.pop_back();
  if (part.empty()) return;
  if (!text.empty()) text += '\n';
  text += part;
}

std::string dropped_note(const char* stream, std::uint64_t dropped) {
  return "[" + std::string(stream) + " truncated: " + std::to_string(dropped) + " more bytes not shown]";
}

class PythonTool final : public Tool {
 public:
  PythonTool(PythonToolConfig config, std::unique_ptr<sandbox::Session> session)
      : config_(std::move(config)), session_(std::move(session)) {
    spec_.name = "python";
    spec_.kind = ToolSpec::Kind::kBuiltin;
  }

  const ToolSpec& spec() const override { return spec_; }

  std::vector<Observation> invoke(const nlohmann::json& args, const ToolContext& ctx) override {
    if (!args.is_object() || !args.contains("code") || !args["code"].is_string()) {
      return {error_observation("python: expected arguments {\"code\": \"<python source>\"}, got " +
                                args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 200))};
    }
    if (ctx.cancelled()) return {error_observation("python: cancelled before the cell started")};
    auto result = session_->run_cell(args["code"].get<std::string>(), ctx.deadline, ctx.cancel);
    if (!result.ok()) return {error_observation("python: " + result.error().message)};
    return {render(*result)};
  }

 private:
  Observation render(const sandbox::CellResult& r) const {
    Observation obs;
    std::string text;
    add_part(text, strip_ansi(r.stdout_text));
    if (r.stdout_dropped) add_part(text, dropped_note("stdout", r.stdout_dropped));
    add_part(text, strip_ansi(r.stderr_text));
    if (r.stderr_dropped) add_part(text, dropped_note("stderr", r.stderr_dropped));
    if (!r.traceback.empty()) {
      add_part(text, strip_ansi(r.traceback));
    } else if (r.has_value) {
      add_part(text, strip_ansi(r.value_repr));
    }
    const std::filesystem::path files_dir = session_->config().files_dir;
    for (const sandbox::ProducedFile& f : r.files) {
      add_part(text, "[Image]");
      obs.artifacts.push_back(Artifact{files_dir / f.name, f.mime, ""});
    }
    if (r.timed_out) add_part(text, "Timed out. " + r.notice);
    else if (!r.notice.empty()) add_part(text, r.notice);
    if (text.empty()) text = "(no output)";
    obs.text = std::move(text);
    obs.is_error = !r.traceback.empty() || r.timed_out || r.state_lost;
    return obs;
  }

  PythonToolConfig config_;
  std::unique_ptr<sandbox::Session> session_;
  ToolSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Tool>> make_python_tool(const PythonToolConfig& config) {
  if (config.session_dir.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "python tool: session_dir is empty");
  }
  if (config.files_subdir.empty() || config.files_subdir.find("..") != std::string::npos ||
      config.files_subdir.front() == '/') {
    return make_error(ErrorCode::kInvalidArgument,
                      "python tool: files_subdir '" + config.files_subdir + "' must be a plain relative folder name");
  }
  sandbox::SandboxConfig sc;
  std::error_code ec;
  const std::filesystem::path session_dir = std::filesystem::absolute(config.session_dir, ec);
  if (ec) return make_error(ErrorCode::kInvalidArgument, config.session_dir.string() + ": " + ec.message());
  sc.files_dir = session_dir / config.files_subdir;
  sc.limits = config.limits;
  sc.cell_timeout = config.cell_timeout;
  sc.interrupt_grace = config.interrupt_grace;
  sc.allow_weaker_isolation = config.allow_weaker_isolation;
  ALLTOOLS_ASSIGN_OR_RETURN(auto session, sandbox::Session::create(sc));
  return std::unique_ptr<Tool>(new PythonTool(config, std::move(session)));
}

const sandbox::IsolationReport& python_isolation_report() { return sandbox::probe_isolation(); }

}  // namespace alltools::tools
