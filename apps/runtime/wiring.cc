#include "apps/runtime/wiring.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "bindings/python/python_plugin.h"
#include "core/protocol/glm4/tool_call.h"
#include "core/protocol/glm45/chat_mapping.h"
#include "core/protocol/tool_functions.h"
#include "model/cpu/cpu_model.h"
#include "model/cuda/cuda_model.h"
#include "model/remote/remote_model.h"
#include "tools/browser/browser_tool.h"
#include "tools/browser/local_index.h"
#include "tools/functions/function_registry.h"
#include "tools/image/image_tool.h"
#include "tools/python/python_tool.h"

namespace alltools::app {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kEmbeddedModelName = "glm4-alltools-tiny";

Error usage(std::string message) { return make_error(ErrorCode::kInvalidArgument, std::move(message)); }

// Applies the config file's values as defaults. Unknown keys are errors naming the file.
Status apply_config(const fs::path& path, AgentFlags* f) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return ok_status();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  json c = json::parse(text.str(), nullptr, false, true);
  if (!c.is_object()) return make_error(ErrorCode::kParse, path.string() + ": not a JSON object");
  for (auto& [key, value] : c.items()) {
    auto str = [&](std::string* out) -> Status {
      if (!value.is_string()) return make_error(ErrorCode::kInvalidArgument, path.string() + ": '" + key + "' must be a string");
      *out = value.get<std::string>();
      return ok_status();
    };
    if (key == "model") ALLTOOLS_RETURN_IF_ERROR(str(&f->model_dir));
    else if (key == "endpoint") ALLTOOLS_RETURN_IF_ERROR(str(&f->endpoint));
    else if (key == "api_key_env") ALLTOOLS_RETURN_IF_ERROR(str(&f->api_key_env));
    else if (key == "remote_model") ALLTOOLS_RETURN_IF_ERROR(str(&f->remote_model));
    else if (key == "remote_mode") ALLTOOLS_RETURN_IF_ERROR(str(&f->remote_mode));
    else if (key == "tokenizer") ALLTOOLS_RETURN_IF_ERROR(str(&f->tokenizer));
    else if (key == "format") ALLTOOLS_RETURN_IF_ERROR(str(&f->format));
    else if (key == "policy") ALLTOOLS_RETURN_IF_ERROR(str(&f->policy_file));
    else if (key == "sessions_dir") ALLTOOLS_RETURN_IF_ERROR(str(&f->sessions_dir));
    else if (key == "mcp") ALLTOOLS_RETURN_IF_ERROR(str(&f->mcp_config));
    else if (key == "search_index") ALLTOOLS_RETURN_IF_ERROR(str(&f->search_index));
    else if (key == "searxng") ALLTOOLS_RETURN_IF_ERROR(str(&f->searxng));
    else if (key == "functions" && value.is_array()) {
      for (const json& v : value)
        if (v.is_string()) f->function_manifests.push_back(v.get<std::string>());
    } else if (key == "image") {
      f->image_config = value;
    } else if (key == "threads" && value.is_number_integer()) {
      f->threads = value.get<int>();
    } else if (key == "device") {
      ALLTOOLS_RETURN_IF_ERROR(str(&f->device));
    } else {
      return make_error(ErrorCode::kInvalidArgument, path.string() + ": unknown or mistyped key '" + key + "'");
    }
  }
  return ok_status();
}

policies::Approval approval(const policies::Policy& p, const std::string& tool) { return p.approval_for(tool); }

std::string strip_wildcard(const std::string& pattern) {
  return pattern.rfind("*.", 0) == 0 ? pattern.substr(2) : pattern;
}

// $XDG_CACHE_HOME/alltools/index-<embedded model>.bin
fs::path default_index_path() {
  fs::path cache;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') cache = xdg;
  else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') cache = fs::path(home) / ".cache";
  else cache = ".alltools";
  return cache / "alltools" / (std::string("index-") + kEmbeddedModelName + ".bin");
}

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

// Where add_tools() puts what it builds (the fields of a Runtime or a ToolSet).
struct ToolTargets {
  agent::Dispatcher& dispatcher;
  tools::browser::BrowserTool*& browser;
  std::unique_ptr<tools::functions::FunctionRegistry>& functions;
  std::vector<std::string>& status;
};

// The tools the policy enables, in the order the reference prompt lists them, then user functions; the python
// tool's files live in session_dir.
Status add_tools(const AgentFlags& flags, const policies::Policy& p, const fs::path& session_dir,
                 const std::shared_ptr<const model::Tokenizer>& tokenizer, ToolTargets out, std::FILE* log) {
  auto say = [&](const std::string& line) {
    if (log != nullptr) std::fprintf(log, "%s\n", line.c_str());
  };
  const std::optional<fs::path> embedded = embedded_model_dir();
  if (p.enabled("python")) {
    tools::PythonToolConfig c;
    c.session_dir = session_dir;
    c.cell_timeout = std::chrono::seconds(static_cast<long>(p.sandbox.wall_seconds + 0.5));
    c.limits.memory_bytes = static_cast<std::uint64_t>(p.sandbox.memory_mb) << 20;
    c.limits.max_pids = static_cast<int>(p.sandbox.pids);
    c.limits.cpu_time_budget = std::chrono::seconds(p.sandbox.cpu_seconds);
    c.limits.tmpfs_bytes = static_cast<std::uint64_t>(p.sandbox.disk_mb) << 20;
    c.limits.file_size_bytes = static_cast<std::uint64_t>(p.sandbox.disk_mb) << 20;
    auto t = tools::make_python_tool(c);
    if (t.ok()) {
      ALLTOOLS_RETURN_IF_ERROR(out.dispatcher.add(std::move(t).value()));
      out.status.push_back("python: " + std::string(policies::approval_name(approval(p, "python"))));
    } else {
      out.status.push_back("python: unavailable: " + t.error().message);
    }
  } else {
    out.status.push_back("python: disabled by policy");
  }

  if (p.enabled("simple_browser")) {
    tools::browser::BrowserConfig c;
    c.network.allow_loopback = p.browser.allow_private_addresses;
    c.network.allow_private = p.browser.allow_private_addresses;
    for (const auto& h : p.browser.allow_hosts) c.network.allowed_hosts.push_back(strip_wildcard(h));
    for (const auto& h : p.browser.deny_hosts) c.network.denied_hosts.push_back(strip_wildcard(h));
    c.network.allowed_cidrs = flags.browser_allow_cidrs;
    if (!flags.browser_allow_cidrs.empty()) c.network.allowed_ports.clear();
    c.limits.max_body_bytes = static_cast<std::size_t>(p.browser.max_page_bytes);
    c.limits.request_timeout = std::chrono::milliseconds(static_cast<long>(p.browser.fetch_timeout_seconds * 1000));
    std::string search = "none configured (use --search-index FILE or --searxng URL)";
    if (!flags.search_index.empty()) {
      c.search.kind = tools::browser::SearchProviderKind::kLocal;
      c.search.index_path = flags.search_index;
      search = "local index " + flags.search_index;
    } else if (!flags.searxng.empty()) {
      c.search.kind = tools::browser::SearchProviderKind::kSearxng;
      c.search.endpoint = flags.searxng;
      search = "SearXNG " + flags.searxng;
    } else if (embedded && fs::is_directory(*embedded / "corpus")) {
      // Nothing configured: search the embedded model's document corpus (index cached per user).
      const fs::path index = default_index_path();
      std::error_code ec;
      if (!fs::exists(index, ec)) {
        fs::create_directories(index.parent_path(), ec);
        auto built = tools::browser::build_local_index(*embedded / "corpus", index);
        if (built.ok()) say("built search index " + index.string() + " (" + std::to_string(built->documents) + " documents)");
      }
      if (fs::exists(index, ec)) {
        c.search.kind = tools::browser::SearchProviderKind::kLocal;
        c.search.index_path = index;
        search = "local index of " + (*embedded / "corpus").string();
      }
    }
    if (tokenizer) {
      std::shared_ptr<const model::Tokenizer> tok = tokenizer;
      c.count_tokens = [tok](std::string_view text) { return tok->encode(text).size(); };
    }
    auto t = tools::browser::make_browser_tool(c);
    if (t.ok()) {
      out.browser = t->get();
      ALLTOOLS_RETURN_IF_ERROR(out.dispatcher.add(std::move(t).value()));
      out.status.push_back("simple_browser: " + std::string(policies::approval_name(approval(p, "simple_browser"))) +
                                "; search: " + search);
    } else {
      out.status.push_back("simple_browser: unavailable: " + t.error().message);
    }
  } else {
    out.status.push_back("simple_browser: disabled by policy");
  }

  if (p.enabled("cogview")) {
    tools::image::ImageConfig c;
    if (!flags.image_config.is_null()) {
      ALLTOOLS_ASSIGN_OR_RETURN(c, tools::image::parse_image_config(flags.image_config));
    }
    ALLTOOLS_RETURN_IF_ERROR(out.dispatcher.add(tools::image::make_image_tool(c)));
    out.status.push_back("cogview: " + std::string(policies::approval_name(approval(p, "cogview"))) +
                              "; backend " + std::string(tools::image::backend_name(c.backend)) + " at " +
                              (c.base_url.empty() ? tools::image::default_base_url(c.backend) : c.base_url));
  } else {
    out.status.push_back("cogview: disabled by policy");
  }

  if (!flags.function_manifests.empty() || !flags.mcp_config.empty() || !flags.python_plugins.empty()) {
    // Function tools own what they need (executables are re-run per call; MCP clients are shared_ptrs).
    out.functions = std::make_unique<tools::functions::FunctionRegistry>();
    tools::functions::FunctionRegistry& registry = *out.functions;
    for (const auto& m : flags.function_manifests) {
      Status s = registry.load_manifest(m);
      if (!s.ok()) return s.error().context("--functions " + m);
    }
    if (!flags.mcp_config.empty()) {
      Status s = registry.load_mcp_config(flags.mcp_config);
      if (!s.ok()) return s.error().context("--mcp " + flags.mcp_config);
    }
    for (const auto& plugin : flags.python_plugins) {
      Status s = python::load_python_plugin(plugin, registry);
      if (!s.ok()) return s.error().context("--plugin " + plugin);
    }
    for (auto& tool : registry.make_tools()) {
      const std::string name = tool->spec().name;
      if (!p.enabled(name)) {
        out.status.push_back(name + ": function, disabled by policy");
        continue;
      }
      Status s = out.dispatcher.add(std::move(tool));
      if (!s.ok()) return s.error();
      out.status.push_back(name + ": function, " + std::string(policies::approval_name(approval(p, name))));
    }
  }
  return ok_status();
}

Result<protocol::Format> choose_format(const std::string& named_folder, const std::string& flag) {
  std::optional<protocol::Format> from_flag;
  if (!flag.empty()) {
    ALLTOOLS_ASSIGN_OR_RETURN(protocol::Format f, protocol::parse_format(flag));
    from_flag = f;
  }
  std::optional<protocol::Format> detected;
  if (!named_folder.empty()) {
    ALLTOOLS_ASSIGN_OR_RETURN(detected, protocol::format_from_folder(named_folder));
  }
  if (detected && from_flag && *detected != *from_flag)
    return usage("the chat template in " + named_folder + " is the " +
                 std::string(protocol::format_name(*detected)) + " format, but --format " + flag + " was given");
  if (detected) return *detected;
  return from_flag.value_or(protocol::Format::kGlm4);
}

}  // namespace

Runtime::Runtime() = default;
Runtime::~Runtime() = default;

fs::path config_path() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/')
    return fs::path(xdg) / "alltools" / "config.json";
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/')
    return fs::path(home) / ".config" / "alltools" / "config.json";
  return fs::path(".alltools") / "config.json";
}

const char* agent_flags_help() {
  return "model (one of; default: the embedded model in <repo>/models/glm4-alltools-tiny):\n"
         "  --model DIR             local GLM-4 checkpoint (config.json + safetensors + tokenizer)\n"
         "  --endpoint URL          OpenAI-compatible server (vLLM, SGLang, hosted API)\n"
         "  --api-key-env VAR       environment variable holding the endpoint's API key\n"
         "  --remote-model ID       model id sent to the endpoint\n"
         "  --remote-mode MODE      completion (raw GLM-4 prompt, default) or chat (tools API)\n"
         "  --tokenizer PATH        tokenizer for remote mode (default: the embedded model's)\n"
         "  --format glm4|glm45     prompt format: GLM-4 (9B-chat, 0414) or GLM-4.5/4.6 (<think>, <arg_key>\n"
         "                          calls); default: the model/tokenizer folder's chat template, else glm4\n"
         "  --show-reasoning        show GLM-4.5 reasoning (<think>) as it streams (never executed)\n"
         "  --threads N             CPU threads for a local model\n"
         "  --device cpu|cuda       where a local model runs (cuda: GPU 0, bf16 as stored)\n"
         "  --no-tool-constraint    let a local model write any tool name (default: the line after\n"
         "                          <|assistant|> is chosen among the tools it was given, or an answer)\n"
         "  --no-arg-constraint     let a local model write any function arguments (default: one JSON\n"
         "                          object valid for the function's parameters schema)\n"
         "  --temperature T         sampling temperature (default 0 = greedy)\n"
         "  --max-tokens N          tokens per model step\n"
         "tools and safety:\n"
         "  --policy FILE           policy JSON (default: the shipped safe policy; see policies/)\n"
         "  -y, --yes               approve every call the policy would ask about\n"
         "  --functions FILE        executable user functions (JSON manifest); repeatable\n"
         "  --mcp FILE              MCP servers config ({\"mcpServers\": ...})\n"
         "  --plugin FILE.py        Python functions declared with @alltools.function (trusted code); repeatable\n"
         "  --search-index FILE     local search index (`alltools index build DIR`)\n"
         "  --searxng URL           SearXNG search endpoint\n"
         "  --browser-allow-cidr C  treat this address range as public for the browser (testing)\n"
         "sessions and output:\n"
         "  --session NAME          resume or create a named session (transcript, files, images)\n"
         "  --sessions-dir DIR      where sessions live (default: $XDG_DATA_HOME/alltools/sessions)\n"
         "  --json                  print events as JSON lines (for scripts)\n"
         "  --quiet                 print only the final answer\n"
         "Defaults for these flags can be set in $XDG_CONFIG_HOME/alltools/config.json, e.g.\n"
         "  {\"endpoint\": \"http://gpu-box:8000\", \"api_key_env\": \"VLLM_KEY\", \"policy\": \"/etc/alltools/policy.json\"}\n"
         "Colours follow NO_COLOR and are off when output is not a terminal.\n";
}

Result<AgentFlags> parse_agent_flags(int argc, char** argv, std::vector<std::string>* positional) {
  AgentFlags f;
  ALLTOOLS_RETURN_IF_ERROR(apply_config(config_path(), &f));
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* out) -> Status {
      if (i + 1 >= argc) return usage("flag " + a + " needs a value");
      *out = argv[++i];
      return ok_status();
    };
    auto number = [&](auto* out) -> Status {
      std::string v;
      ALLTOOLS_RETURN_IF_ERROR(value(&v));
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0') return usage("flag " + a + ": '" + v + "' is not a number");
      *out = static_cast<std::remove_reference_t<decltype(*out)>>(d);
      return ok_status();
    };
    std::string tmp;
    if (a == "--help" || a == "-h") f.help = true;
    else if (a == "--model") ALLTOOLS_RETURN_IF_ERROR(value(&f.model_dir));
    else if (a == "--endpoint") ALLTOOLS_RETURN_IF_ERROR(value(&f.endpoint));
    else if (a == "--api-key-env") ALLTOOLS_RETURN_IF_ERROR(value(&f.api_key_env));
    else if (a == "--remote-model") ALLTOOLS_RETURN_IF_ERROR(value(&f.remote_model));
    else if (a == "--remote-mode") ALLTOOLS_RETURN_IF_ERROR(value(&f.remote_mode));
    else if (a == "--tokenizer") ALLTOOLS_RETURN_IF_ERROR(value(&f.tokenizer));
    else if (a == "--format") {
      ALLTOOLS_RETURN_IF_ERROR(value(&f.format));
      if (auto p = protocol::parse_format(f.format); !p.ok()) return usage(p.error().message);
    } else if (a == "--show-reasoning") f.show_reasoning = true;
    else if (a == "--policy") ALLTOOLS_RETURN_IF_ERROR(value(&f.policy_file));
    else if (a == "--session") ALLTOOLS_RETURN_IF_ERROR(value(&f.session));
    else if (a == "--sessions-dir") ALLTOOLS_RETURN_IF_ERROR(value(&f.sessions_dir));
    else if (a == "--functions") {
      ALLTOOLS_RETURN_IF_ERROR(value(&tmp));
      f.function_manifests.push_back(tmp);
    } else if (a == "--mcp") ALLTOOLS_RETURN_IF_ERROR(value(&f.mcp_config));
    else if (a == "--plugin") {
      ALLTOOLS_RETURN_IF_ERROR(value(&tmp));
      f.python_plugins.push_back(tmp);
    }
    else if (a == "--search-index") ALLTOOLS_RETURN_IF_ERROR(value(&f.search_index));
    else if (a == "--searxng") ALLTOOLS_RETURN_IF_ERROR(value(&f.searxng));
    else if (a == "--browser-allow-cidr") {
      ALLTOOLS_RETURN_IF_ERROR(value(&tmp));
      f.browser_allow_cidrs.push_back(tmp);
    } else if (a == "--threads") ALLTOOLS_RETURN_IF_ERROR(number(&f.threads));
    else if (a == "--device") {
      ALLTOOLS_RETURN_IF_ERROR(value(&f.device));
      if (Status s = model::check_device(f.device); !s.ok()) return usage(s.error().message);
    }
    else if (a == "--max-tokens") ALLTOOLS_RETURN_IF_ERROR(number(&f.max_tokens));
    else if (a == "--temperature") ALLTOOLS_RETURN_IF_ERROR(number(&f.temperature));
    else if (a == "--json") f.json = true;
    else if (a == "--no-tool-constraint") f.constrain_tool_names = false;
    else if (a == "--no-arg-constraint") f.constrain_arguments = false;
    else if (a == "--quiet" || a == "-q") f.quiet = true;
    else if (a == "-y" || a == "--yes") f.yes = true;
    else if (a.size() > 1 && a[0] == '-') return usage("unknown flag " + a + " (see --help)");
    else positional->push_back(a);
  }
  if (f.remote_mode != "completion" && f.remote_mode != "chat")
    return usage("--remote-mode must be 'completion' or 'chat', not '" + f.remote_mode + "'");
  return f;
}

std::optional<fs::path> embedded_model_dir() {
  std::error_code ec;
  if (const char* home = std::getenv("ALLTOOLS_HOME"); home != nullptr && home[0] != '\0') {
    fs::path p = fs::path(home) / "models" / kEmbeddedModelName;
    if (fs::exists(p / "config.json", ec)) return p;
  }
  fs::path dir = executable_dir();
  for (int up = 0; up < 5 && !dir.empty(); ++up, dir = dir.parent_path()) {
    fs::path p = dir / "models" / kEmbeddedModelName;
    if (fs::exists(p / "config.json", ec)) return p;
    if (dir == dir.parent_path()) break;
  }
  return std::nullopt;
}

Result<ModelSource> model_source(const AgentFlags& flags) {
  const std::optional<fs::path> embedded = embedded_model_dir();
  ModelSource source;
  if (!flags.endpoint.empty()) {
    source.tokenizer = flags.tokenizer;
    if (source.tokenizer.empty() && !flags.model_dir.empty()) source.tokenizer = flags.model_dir;
    if (source.tokenizer.empty() && embedded) source.tokenizer = embedded->string();
    if (source.tokenizer.empty())
      return usage("--endpoint needs a GLM-4 tokenizer to render prompts: pass --tokenizer PATH "
                   "(a tokenizer.model / tokenizer.json or a model folder)");
    return source;
  }
  source.model_dir = flags.model_dir;
  if (source.model_dir.empty() && embedded) source.model_dir = embedded->string();
  if (source.model_dir.empty())
    return make_error(ErrorCode::kNotFound,
                      "no model: pass --model DIR (a GLM-4 checkpoint folder with config.json, safetensors and "
                      "tokenizer.model, e.g. glm-4-9b-chat), or --endpoint URL for an OpenAI-compatible server "
                      "(vLLM/SGLang) with --api-key-env VAR; or set \"model\"/\"endpoint\" in " +
                          config_path().string() + ". The embedded default model (models/" + kEmbeddedModelName +
                          ") was not found next to this binary.");
  source.tokenizer = source.model_dir;
  return source;
}

Result<std::shared_ptr<const model::Tokenizer>> load_shared_tokenizer(const std::string& path) {
  auto t = model::load_tokenizer(path);
  if (!t.ok()) return t.error();
  return std::shared_ptr<const model::Tokenizer>(std::move(t).value());
}

Result<protocol::Format> prompt_format(const AgentFlags& flags) {
  // The folder the user named: the checkpoint, or for an endpoint the --tokenizer folder (else --model's, if any).
  const std::string& named = flags.endpoint.empty() || flags.tokenizer.empty() ? flags.model_dir : flags.tokenizer;
  return choose_format(named, flags.format);
}

Result<std::unique_ptr<Runtime>> build_runtime(const AgentFlags& flags, RuntimeParts parts, std::FILE* log) {
  auto rt = std::make_unique<Runtime>();
  auto say = [&](const std::string& line) {
    if (log != nullptr) std::fprintf(log, "%s\n", line.c_str());
  };

  // Policy.
  if (flags.policy_file.empty()) {
    rt->policy = policies::default_policy();
  } else {
    ALLTOOLS_ASSIGN_OR_RETURN(rt->policy, policies::load_policy_file(flags.policy_file));
  }

  // Session folder (the python tool's /mnt/data and generated images live in it).
  if (parts.session) {
    const fs::path root = flags.sessions_dir.empty() ? agent::default_sessions_root() : fs::path(flags.sessions_dir);
    auto s = flags.session.empty() ? agent::SessionStore::create_new(root) : agent::SessionStore::open(root, flags.session);
    if (!s.ok()) return s.error();
    rt->session.emplace(std::move(s).value());
  }
  const fs::path session_dir = rt->session ? rt->session->dir() : fs::temp_directory_path() / "alltools-tools";

  // Model and tokenizer.
  if (parts.model) {
    ALLTOOLS_ASSIGN_OR_RETURN(const ModelSource source, model_source(flags));
    ALLTOOLS_ASSIGN_OR_RETURN(rt->tokenizer, load_shared_tokenizer(source.tokenizer));
    ALLTOOLS_ASSIGN_OR_RETURN(rt->format, prompt_format(flags));
    if (flags.endpoint.empty()) {
      const std::string& dir = source.model_dir;
      model::CpuModelOptions o;
      o.threads = flags.threads;
      say("loading model " + dir + (flags.device == "cuda" ? " on the GPU …" : " …"));
      const auto t0 = std::chrono::steady_clock::now();
      auto m = model::open_local_model(dir, flags.device, o);
      if (!m.ok()) return m.error().context("model " + dir);
      rt->model = std::move(m).value();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      char line[256];
      std::snprintf(line, sizeof line, "loaded %s (%s, context %d) in %.2f s", rt->model->info().name.c_str(),
                    rt->model->info().architecture.c_str(), rt->model->info().max_context, s);
      say(line);
      rt->model_description = std::string("local ") + dir;
    }
  }

  // Tools, in the order the reference prompt lists them, then user functions.
  ALLTOOLS_RETURN_IF_ERROR(add_tools(flags, rt->policy, session_dir, rt->tokenizer,
                                    ToolTargets{rt->dispatcher, rt->browser, rt->functions, rt->tool_status}, log));

  // Remote model last: chat mode needs the tool list.
  if (parts.model && !flags.endpoint.empty()) {
    ALLTOOLS_ASSIGN_OR_RETURN(model::RemoteOptions o,
                              remote_options(flags, rt->dispatcher.specs(), rt->format, rt->tokenizer));
    ALLTOOLS_ASSIGN_OR_RETURN(rt->model, model::make_remote_model(std::move(o), rt->tokenizer));
    rt->model_description = "remote " + flags.endpoint + " (" + flags.remote_mode + " mode, " +
                            std::string(protocol::format_name(rt->format)) + " format)";
  }
  return rt;
}

Result<model::RemoteOptions> remote_options(const AgentFlags& flags, std::span<const tools::ToolSpec> tool_specs,
                                            protocol::Format format,
                                            std::shared_ptr<const model::Tokenizer> tokenizer) {
  model::RemoteOptions o;
  o.endpoint = flags.endpoint;
  o.model = flags.remote_model;
  o.mode = flags.remote_mode == "chat" ? model::RemoteOptions::Mode::kChat : model::RemoteOptions::Mode::kCompletion;
  if (!flags.api_key_env.empty()) {
    const char* key = std::getenv(flags.api_key_env.c_str());
    if (key == nullptr || key[0] == '\0')
      return usage("--api-key-env " + flags.api_key_env + ": that environment variable is not set");
    o.api_key = key;
  }
  if (o.mode != model::RemoteOptions::Mode::kChat) return o;
  for (const auto& s : tool_specs) o.chat_tools.push_back(json(protocol::tool_function(s)));
  const std::vector<tools::ToolSpec> specs(tool_specs.begin(), tool_specs.end());
  if (format == protocol::Format::kGlm45) {
    if (!tokenizer) return usage("the GLM-4.5 format in chat mode needs a tokenizer");
    o.chat_messages = [tokenizer, specs](std::span<const model::TokenId> tokens) {
      return protocol::glm45::chat_messages(tokens, *tokenizer, specs);
    };
    o.chat_reply_format = protocol::glm45::chat_reply_format<model::ChatReplyFormat>;
  } else {
    o.body_to_arguments = [specs](std::string_view tool, std::string_view body) -> std::string {
      auto args = protocol::glm4::tool_call_arguments({std::string(tool), std::string(body)}, specs);
      return args.ok() ? args->dump() : std::string(body);
    };
    o.arguments_to_body = [specs](std::string_view tool, std::string_view arguments) -> std::string {
      json args = json::parse(arguments, nullptr, false);
      tools::ToolSpec::Kind kind = tools::ToolSpec::Kind::kFunction;
      for (const auto& s : specs)
        if (s.name == tool) kind = s.kind;
      if (args.is_discarded()) return std::string(arguments);
      auto body = protocol::glm4::format_tool_call_body(tool, args, kind);
      return body.ok() ? *body : std::string(arguments);
    };
  }
  return o;
}

ToolSet::ToolSet() = default;
ToolSet::~ToolSet() = default;

Result<std::unique_ptr<ToolSet>> build_tool_set(const AgentFlags& flags, const policies::Policy& policy,
                                                const fs::path& session_dir,
                                                const std::shared_ptr<const model::Tokenizer>& tokenizer) {
  auto set = std::make_unique<ToolSet>();
  ALLTOOLS_RETURN_IF_ERROR(add_tools(flags, policy, session_dir, tokenizer,
                                     ToolTargets{set->dispatcher, set->browser, set->functions, set->status},
                                     nullptr));
  return set;
}

agent::AgentOptions agent_options(const Runtime& runtime, const AgentFlags& flags) {
  agent::AgentOptions o = agent_options(runtime.policy, flags);
  if (runtime.session) o.session_dir = runtime.session->dir();
  o.format = runtime.format;
  return o;
}

agent::AgentOptions agent_options(const policies::Policy& runtime_policy, const AgentFlags& flags) {
  agent::AgentOptions o;
  const policies::StepLimits& l = runtime_policy.limits;
  o.limits.tool_calls_per_turn = l.tool_calls_per_turn;
  o.limits.turn_seconds = l.turn_seconds;
  o.limits.tool_call_seconds = l.tool_call_seconds;
  o.limits.tokens_per_turn = l.tokens_per_turn;
  o.limits.observation_bytes = l.observation_bytes;
  o.limits.repeated_calls = l.repeated_calls;
  if (flags.max_tokens > 0) o.limits.max_new_tokens_per_step = flags.max_tokens;
  o.sampling.temperature = flags.temperature;
  o.constrain_tool_names = flags.constrain_tool_names;
  o.constrain_arguments = flags.constrain_arguments;
  o.show_reasoning = flags.show_reasoning;
  const policies::Policy policy = runtime_policy;
  o.permission = [policy](std::string_view tool) {
    switch (policy.approval_for(tool)) {
      case policies::Approval::kAllow: return agent::Permission::kAllow;
      case policies::Approval::kAsk: return agent::Permission::kAsk;
      case policies::Approval::kDeny: return agent::Permission::kDeny;
    }
    return agent::Permission::kDeny;
  };
  return o;
}

Result<std::vector<protocol::glm4::Message>> restored_messages(const Runtime& runtime) {
  if (!runtime.session || !runtime.session->resumed()) return std::vector<protocol::glm4::Message>{};
  ALLTOOLS_ASSIGN_OR_RETURN(auto events, runtime.session->load());
  return agent::messages_from_events(events);
}

}  // namespace alltools::app
