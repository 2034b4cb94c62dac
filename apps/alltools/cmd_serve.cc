// `alltools serve`: the OpenAI-compatible server (apps/serve) over the embedded model, a local checkpoint or a
// remote endpoint. Prints "listening on http://HOST:PORT" to stderr once it accepts connections; stops on
// SIGINT/SIGTERM (requests in flight are cut).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apps/alltools/command.h"
#include "apps/runtime/wiring.h"
#include "apps/serve/run_workspace.h"
#include "apps/serve/server.h"
#include "model/cpu/cpu_sequence_pool.h"
#include "model/pool/factory_pool.h"
#include "model/remote/remote_model.h"
#include "model/scripted/scripted_model.h"

namespace alltools::app {
namespace {

namespace fs = std::filesystem;

struct ServeFlags {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key_file;
  int max_sessions = 8;
  int max_queue = 64;
  int max_per_key = 16;
  int queue_timeout_s = 30;
  int max_tokens_cap = 4096;
  std::size_t max_body_bytes = 4u << 20;
  std::string model_id;
  std::string workspaces_dir;
  std::string synthetic;  // --synthetic SPEC: random weights of a preset's shapes (benchmarks, load tests)
  long kv_budget_mb = 0;  // 0 = no limit
  int max_parked = 16;
  std::string scripted;  // tests: a JSON array of replies played by scripted models instead of a real one
  bool no_runs = false;
};

const char* kServeHelp =
    "usage: alltools serve [options]\n\n"
    "An OpenAI-compatible server: POST /v1/chat/completions (stream or not, tools), POST /v1/completions (raw\n"
    "GLM-4 prompts), GET /v1/models, GET /health, and POST /v1/alltools/runs (the server runs the All Tools\n"
    "agent: python, simple_browser and cogview execute here, in a workspace of the run's own; its steps stream as\n"
    "SSE events). The model is the embedded one unless --model DIR or --endpoint URL says otherwise.\n\n"
    "server:\n"
    "  --host ADDR             address to listen on (default 127.0.0.1; others need --api-key-file)\n"
    "  --port N                port (default 8080; 0 = any free port, printed on stderr)\n"
    "  --api-key-file F        API keys, one per line ('Authorization: Bearer KEY'); none = loopback only\n"
    "  --max-sessions N        sequences generating at once (default 8)\n"
    "  --max-queue N           requests waiting for a sequence (default 64); beyond: 503 + Retry-After\n"
    "  --queue-timeout S       seconds a request waits in the queue before a 503 (default 30)\n"
    "  --max-per-key N         requests in flight per API key (default 16); beyond: 429 + Retry-After\n"
    "  --max-body-bytes N      request body limit (default 4194304); beyond: 413\n"
    "  --max-tokens-cap N      generated tokens per request at most (default 4096)\n"
    "  --model-id ID           the id /v1/models reports (default: the model folder's name)\n"
    "  --workspaces DIR        where runs get their folders (default: $TMPDIR/alltools-serve-PID)\n"
    "  --no-runs               disable POST /v1/alltools/runs\n"
    "  --kv-budget-mb N        KV-cache memory of all sequences, parked ones included (default: no limit)\n"
    "  --max-parked N          finished conversations' caches kept for prefix reuse (default 16)\n"
    "  --synthetic SPEC        random weights of a preset's shapes, e.g. glm4-9b:layers=4 (benchmarks)\n"
    "  --policy FILE           the policy runs follow (tools, sandbox limits); see below\n\n";

Result<ServeFlags> take_serve_flags(int argc, char** argv, std::vector<char*>* rest) {
  ServeFlags f;
  rest->push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= argc) return make_error(ErrorCode::kInvalidArgument, "flag " + a + " needs a value");
      return std::string(argv[++i]);
    };
    auto integer = [&](long lo, long hi) -> Result<long> {
      ALLTOOLS_ASSIGN_OR_RETURN(std::string v, value());
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n < lo || n > hi)
        return make_error(ErrorCode::kInvalidArgument,
                          "flag " + a + ": '" + v + "' is not an integer in [" + std::to_string(lo) + ", " +
                              std::to_string(hi) + "]");
      return n;
    };
    if (a == "--host") { ALLTOOLS_ASSIGN_OR_RETURN(f.host, value()); }
    else if (a == "--port") { ALLTOOLS_ASSIGN_OR_RETURN(long n, integer(0, 65535)); f.port = static_cast<int>(n); }
    else if (a == "--api-key-file") { ALLTOOLS_ASSIGN_OR_RETURN(f.api_key_file, value()); }
    else if (a == "--max-sessions") { ALLTOOLS_ASSIGN_OR_RETURN(long n, integer(1, 4096)); f.max_sessions = static_cast<int>(n); }
    else if (a == "--max-queue") { ALLTOOLS_ASSIGN_OR_RETURN(long n, integer(0, 65536)); f.max_queue = static_cast<int>(n); }
    else if (a == "--max-per-key") { ALLTOOLS_ASSIGN_OR_RETURN(long n, integer(0, 65536)); f.max_per_key = static_cast<int>(n); }
    else if (a == "--queue-timeout") { ALLTOOLS_ASSIGN_OR_RETURN(long n, integer(0, 3600)); f.queue_timeout_s = static_cast<int>(n); }
    else if (a == "--max-tokens-cap") { ALLTOOLS_ASSIGN_OR_RETURN(long n, integer(1, 1 << 20)); f.max_tokens_cap = static_cast<int>(n); }
    else if (a == "--max-body-bytes") { ALLTOOLS_ASSIGN_OR_RETURN(long n, integer(1024, 1L << 30)); f.max_body_bytes = static_cast<std::size_t>(n); }
    else if (a == "--model-id") { ALLTOOLS_ASSIGN_OR_RETURN(f.model_id, value()); }
    else if (a == "--workspaces") { ALLTOOLS_ASSIGN_OR_RETURN(f.workspaces_dir, value()); }
    else if (a == "--scripted") { ALLTOOLS_ASSIGN_OR_RETURN(f.scripted, value()); }
    else if (a == "--synthetic") { ALLTOOLS_ASSIGN_OR_RETURN(f.synthetic, value()); }
    else if (a == "--kv-budget-mb") { ALLTOOLS_ASSIGN_OR_RETURN(f.kv_budget_mb, integer(0, 1L << 24)); }
    else if (a == "--max-parked") { ALLTOOLS_ASSIGN_OR_RETURN(long n, integer(0, 4096)); f.max_parked = static_cast<int>(n); }
    else if (a == "--no-runs") f.no_runs = true;
    else rest->push_back(argv[i]);
  }
  return f;
}

// The pool behind the server: scripted models (tests), one remote model per sequence (--endpoint; the remote
// server batches), or the CPU backend's continuous-batching pool (the embedded model, --model DIR, --synthetic).
Result<std::unique_ptr<model::SequencePool>> make_pool(const AgentFlags& flags, const ServeFlags& sf,
                                                       const std::shared_ptr<const model::Tokenizer>& tokenizer,
                                                       const ModelSource& source) {
  if (!sf.scripted.empty()) {
    std::ifstream in(sf.scripted);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
    if (!j.is_array() || j.empty())
      return make_error(ErrorCode::kInvalidArgument, "--scripted " + sf.scripted + ": not a JSON array of replies");
    std::vector<std::string> replies;
    for (const auto& r : j) {
      if (!r.is_string()) return make_error(ErrorCode::kInvalidArgument, "--scripted: replies must be strings");
      replies.push_back(r.get<std::string>());
    }
    auto next = std::make_shared<std::atomic<std::size_t>>(0);
    model::ModelInfo info{"scripted", "scripted", tokenizer->vocab_size(), 1 << 20};
    auto factory = [tokenizer, replies, next]() -> Result<std::unique_ptr<model::LanguageModel>> {
      // Sequence k plays reply k (mod the script's length), then the rest in order.
      const std::size_t k = next->fetch_add(1) % replies.size();
      std::vector<std::string> order(replies.begin() + static_cast<long>(k), replies.end());
      order.insert(order.end(), replies.begin(), replies.begin() + static_cast<long>(k));
      model::ScriptedModelOptions o;
      o.add_stop = true;
      return std::unique_ptr<model::LanguageModel>(std::make_unique<model::ScriptedModel>(*tokenizer, order, o));
    };
    return std::unique_ptr<model::SequencePool>(std::make_unique<model::FactoryPool>(info, factory, sf.max_sessions));
  }
  if (!flags.endpoint.empty()) {
    ALLTOOLS_ASSIGN_OR_RETURN(model::RemoteOptions o, remote_options(flags, {}));
    model::ModelInfo info{flags.remote_model.empty() ? flags.endpoint : flags.remote_model, "remote",
                          tokenizer->vocab_size(), o.max_context};
    auto factory = [o, tokenizer]() { return model::make_remote_model(o, tokenizer); };
    return std::unique_ptr<model::SequencePool>(std::make_unique<model::FactoryPool>(info, factory, sf.max_sessions));
  }
  if (flags.device == "cuda")
    return make_error(ErrorCode::kUnsupported,
                      "--device cuda: alltools serve batches local models on the CPU only in this build (the "
                      "continuous-batching sequence pool has no GPU backend yet); serve a GPU model with "
                      "vLLM/SGLang and pass --endpoint URL, or drop --device");
  // The embedded model, --model DIR or --synthetic: continuous batching over one set of weights.
  model::CpuModelOptions o;
  o.threads = flags.threads;
  model::SequencePoolOptions po;
  po.max_sequences = sf.max_sessions;
  po.kv_budget = static_cast<std::uint64_t>(sf.kv_budget_mb) << 20;
  po.max_parked = sf.max_parked;
  if (!sf.synthetic.empty()) {
    ALLTOOLS_ASSIGN_OR_RETURN(model::SyntheticSpec spec, model::parse_synthetic_spec(sf.synthetic));
    return model::open_cpu_sequence_pool(spec, o, po);
  }
  auto pool = model::open_cpu_sequence_pool(source.model_dir, o, po);
  if (!pool.ok()) return pool.error().context("model " + source.model_dir);
  return pool;
}

int run_serve(int argc, char** argv) {
  // Blocked before any thread starts (the pool's scheduler, the server's workers inherit the mask), so that only
  // sigwait() below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<char*> rest;
  auto sf = take_serve_flags(argc, argv, &rest);
  if (!sf.ok()) {
    std::fprintf(stderr, "alltools serve: %s\n", sf.error().message.c_str());
    return 2;
  }
  std::vector<std::string> positional;
  auto flags = parse_agent_flags(static_cast<int>(rest.size()), rest.data(), &positional);
  if (!flags.ok()) {
    std::fprintf(stderr, "alltools serve: %s\n", flags.error().message.c_str());
    return 2;
  }
  if (flags->help) {
    std::printf("%s%s", kServeHelp, agent_flags_help());
    return 0;
  }
  if (!positional.empty()) {
    std::fprintf(stderr, "alltools serve: unexpected argument '%s' (see --help)\n", positional[0].c_str());
    return 2;
  }
  auto fail = [](const Error& e) {
    std::fprintf(stderr, "alltools serve: %s\n", e.message.c_str());
    return e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kUnsupported ? 2 : 1;
  };
  auto source = model_source(*flags);
  if (!source.ok()) return fail(source.error());
  if (!sf->synthetic.empty() && !flags->tokenizer.empty()) source->tokenizer = flags->tokenizer;
  auto tokenizer = load_shared_tokenizer(source->tokenizer);
  if (!tokenizer.ok()) return fail(tokenizer.error());
  // The chat endpoint and server-side runs render the GLM-4 template; a GLM-4.5 folder is refused, not misread.
  auto format = prompt_format(*flags);
  if (!format.ok()) return fail(format.error());
  if (*format != protocol::Format::kGlm4)
    return fail(make_error(ErrorCode::kUnsupported,
                           std::string("alltools serve speaks the GLM-4 format only; this model uses the ") +
                               std::string(protocol::format_name(*format)) +
                               " format (use alltools run --format for it, or serve it with vLLM/SGLang)"));
  policies::Policy policy = policies::default_policy();
  if (!flags->policy_file.empty()) {
    auto p = policies::load_policy_file(flags->policy_file);
    if (!p.ok()) return fail(p.error());
    policy = *p;
  }
  auto pool = make_pool(*flags, *sf, *tokenizer, *source);
  if (!pool.ok()) return fail(pool.error());
  if ((*tokenizer)->vocab_size() > (*pool)->info().vocab_size)
    return fail(make_error(ErrorCode::kInvalidArgument,
                           "the tokenizer (" + std::to_string((*tokenizer)->vocab_size()) +
                               " ids) does not fit the model's vocabulary (" +
                               std::to_string((*pool)->info().vocab_size) + "): pass --tokenizer PATH"));

  serve::ServerOptions so;
  so.host = sf->host;
  so.port = sf->port;
  so.max_queue = sf->max_queue;
  so.queue_timeout = std::chrono::seconds(sf->queue_timeout_s);
  so.max_body_bytes = sf->max_body_bytes;
  so.max_tokens_cap = sf->max_tokens_cap;
  so.worker_threads = sf->max_sessions + sf->max_queue + 32;
  so.model_id = !sf->model_id.empty() ? sf->model_id : (*pool)->info().name;
  if (!sf->api_key_file.empty()) {
    auto keys = serve::ApiKeys::load(sf->api_key_file, sf->max_per_key);
    if (!keys.ok()) return fail(keys.error());
    so.keys = std::move(keys).value();
  }
  serve::ServerBackend backend;
  backend.pool = pool->get();
  backend.tokenizer = *tokenizer;
  const fs::path workspaces = !sf->workspaces_dir.empty()
                                  ? fs::path(sf->workspaces_dir)
                                  : fs::temp_directory_path() / ("alltools-serve-" + std::to_string(::getpid()));
  if (!sf->no_runs) {
    const AgentFlags run_flags = *flags;
    const std::shared_ptr<const model::Tokenizer> tok = *tokenizer;
    backend.new_workspace = [run_flags, policy, workspaces, tok]() {
      return serve::make_run_workspace(run_flags, policy, workspaces, tok);
    };
    backend.run_options = agent_options(policy, *flags);
  }
  auto server = serve::Server::create(so, backend);
  if (!server.ok()) return fail(server.error());

  // SIGINT/SIGTERM go to a waiting thread, which stops the server; the main thread serves.
  serve::Server* s = server->get();
  std::thread waiter([set, s] {
    int sig = 0;
    sigwait(&set, &sig);
    s->stop();
  });
  waiter.detach();
  std::fprintf(stderr, "alltools serve: %s (%s), %d sessions, queue %d%s\n", so.model_id.c_str(),
               (*pool)->info().architecture.c_str(), sf->max_sessions, sf->max_queue,
               so.keys ? ", API keys required" : ", no API keys (loopback only)");
  std::fprintf(stderr, "listening on http://%s:%d\n", so.host.c_str(), (*server)->port());
  std::fflush(stderr);
  Status st = (*server)->run();
  server->reset();
  std::error_code ec;
  if (sf->workspaces_dir.empty()) fs::remove_all(workspaces, ec);
  if (!st.ok()) return fail(st.error());
  return 0;
}

}  // namespace
}  // namespace alltools::app

ALLTOOLS_COMMAND("serve", "OpenAI-compatible server (chat, completions, server-side All Tools runs)",
                 alltools::app::run_serve);
