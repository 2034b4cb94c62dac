// `alltools browse`: try the simple_browser tool by hand — search, open a URL, optionally mclick results.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "apps/alltools/command.h"
#include "tools/browser/browser_tool.h"

namespace {

namespace browser = alltools::tools::browser;

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: alltools browse search \"QUERY\" [--recency DAYS] [--click 0,2,5] [options]\n"
               "       alltools browse open URL [--click 3,4] [options]\n\n"
               "Runs the simple_browser tool once and prints its observations as the model would see them,\n"
               "then the citation table (id, title, url).\n"
               "  --provider P       searxng | brave | local (default: local with --index, searxng with --endpoint,\n"
               "                     else $ALLTOOLS_SEARCH_PROVIDER)\n"
               "  --endpoint URL     SearXNG base URL (default $ALLTOOLS_SEARXNG_URL) or Brave API endpoint\n"
               "  --index FILE       local BM25 index written by `alltools index build DIR`\n"
               "  --key-env NAME     environment variable with the Brave API key (default BRAVE_API_KEY)\n"
               "  --click IDS        after the search/open, mclick these ids (comma-separated)\n"
               "  --budget TOKENS    page budget (default 3000)\n"
               "  --allow-loopback   let pages on 127.0.0.0/8 and ::1 load (denied by default)\n"
               "  --allow-private    let pages on private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) load\n"
               "  --allow-cidr CIDR  treat this range as public (repeatable)\n"
               "  --any-port         allow every destination port (default 80, 443, 8080, 8443)\n"
               "  --timeout SECONDS  whole-call deadline (default 30)\n"
               "Exit status: 0 ok, 1 an observation was an error, 2 bad usage or configuration.\n");
}

bool parse_ids(const std::string& text, nlohmann::json* ids) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || end == nullptr || *end != '\0') return false;
    ids->push_back(v);
    pos = comma + 1;
  }
  return !ids->empty();
}

int run_browse(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string action = argv[1];
  if (action != "search" && action != "open") {
    std::fprintf(stderr, "browse: unknown action '%s' (search or open)\n", action.c_str());
    return 2;
  }
  browser::BrowserConfig config;
  std::string target, provider, click;
  int recency = 0;
  double timeout_s = 30;
  if (const char* env = std::getenv("ALLTOOLS_SEARCH_PROVIDER")) provider = env;
  if (const char* env = std::getenv("ALLTOOLS_SEARXNG_URL")) config.search.endpoint = env;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&] { return alltools::app::flag_value(argc, argv, i, "browse"); };
    const char* v = nullptr;
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "--provider") {
      if (!(v = value())) return 2;
      provider = v;
    } else if (arg == "--endpoint") {
      if (!(v = value())) return 2;
      config.search.endpoint = v;
      if (provider.empty()) provider = "searxng";
    } else if (arg == "--index") {
      if (!(v = value())) return 2;
      config.search.index_path = v;
      if (provider.empty() || provider == "searxng") provider = "local";
    } else if (arg == "--key-env") {
      if (!(v = value())) return 2;
      config.search.api_key_env = v;
    } else if (arg == "--click") {
      if (!(v = value())) return 2;
      click = v;
    } else if (arg == "--recency") {
      if (!(v = value())) return 2;
      recency = std::atoi(v);
    } else if (arg == "--budget") {
      if (!(v = value())) return 2;
      config.page_token_budget = static_cast<std::size_t>(std::strtoul(v, nullptr, 10));
    } else if (arg == "--timeout") {
      if (!(v = value())) return 2;
      timeout_s = std::atof(v);
    } else if (arg == "--allow-loopback") {
      config.network.allow_loopback = true;
    } else if (arg == "--allow-private") {
      config.network.allow_private = true;
    } else if (arg == "--allow-cidr") {
      if (!(v = value())) return 2;
      config.network.allowed_cidrs.push_back(v);
    } else if (arg == "--any-port") {
      config.network.allowed_ports.clear();
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "browse: unknown option %s (see --help)\n", arg.c_str());
      return 2;
    } else if (target.empty()) {
      target = arg;
    } else {
      std::fprintf(stderr, "browse: unexpected argument '%s'\n", arg.c_str());
      return 2;
    }
  }
  if (target.empty()) {
    std::fprintf(stderr, "browse: %s needs a %s\n", action.c_str(), action == "search" ? "query" : "URL");
    return 2;
  }
  if (provider == "searxng") {
    config.search.kind = browser::SearchProviderKind::kSearxng;
  } else if (provider == "brave") {
    config.search.kind = browser::SearchProviderKind::kBrave;
  } else if (provider == "local") {
    config.search.kind = browser::SearchProviderKind::kLocal;
  } else if (!provider.empty()) {
    std::fprintf(stderr, "browse: unknown provider '%s' (searxng, brave, local)\n", provider.c_str());
    return 2;
  }
  config.limits.call_timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
  auto tool = browser::make_browser_tool(config);
  if (!tool.ok()) {
    std::fprintf(stderr, "browse: %s\n", tool.error().message.c_str());
    return 2;
  }
  nlohmann::json calls = nlohmann::json::array();
  if (action == "search") {
    nlohmann::json call = {{"fn", "search"}, {"query", target}};
    if (recency > 0) call["recency_days"] = recency;
    calls.push_back(call);
  } else {
    calls.push_back({{"fn", "open_url"}, {"url", target}});
  }
  if (!click.empty()) {
    nlohmann::json ids = nlohmann::json::array();
    if (!parse_ids(click, &ids)) {
      std::fprintf(stderr, "browse: --click wants comma-separated ids, got '%s'\n", click.c_str());
      return 2;
    }
    calls.push_back({{"fn", "mclick"}, {"ids", ids}});
  }
  alltools::tools::ToolContext ctx;
  ctx.deadline = std::chrono::steady_clock::now() + config.limits.call_timeout;
  ctx.progress = [](const std::string& line) { std::fprintf(stderr, "[browse] %s\n", line.c_str()); };
  const std::vector<alltools::tools::Observation> obs = (*tool)->invoke({{"calls", calls}}, ctx);
  bool error = false;
  for (const auto& o : obs) {
    std::printf("<|observation|>%s\n%s\n", o.metadata.c_str(), o.text.c_str());
    error = error || o.is_error;
  }
  const auto cites = (*tool)->citations();
  if (!cites.empty()) {
    std::printf("\ncitations:\n");
    for (const auto& c : cites) std::printf("  【%d】 %s <%s>\n", c.id, c.title.c_str(), c.url.c_str());
  }
  return error ? 1 : 0;
}

}  // namespace

ALLTOOLS_COMMAND("browse", "try the web browser tool: search, open a URL, mclick results", run_browse);
