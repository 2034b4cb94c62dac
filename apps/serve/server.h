// `alltools serve`: an OpenAI-compatible HTTP server over a SequencePool (cpp-httplib, thread per connection).
//
//   POST /v1/chat/completions   chat with function tools (GLM-4 functions), SSE or one JSON object
//   POST /v1/completions        raw prompt (GLM-4 special-token strings are special tokens, as vLLM does)
//   GET  /v1/models             the one model served
//   GET  /health                liveness + pool and run counters (no key needed)
//   POST /v1/alltools/runs      a server-side All Tools turn: python / simple_browser / cogview run by the server
//                               in a workspace of the run's own (folder + python sandbox), steps streamed as events
//
// Admission: a request waits up to queue_timeout for a sequence of the pool; at most max_queue wait at once, more
// get 503 with Retry-After; a key with max_per_key requests in flight gets 429. A client that disconnects
// mid-stream cancels its generation at the next token (its sequence leaves the pool, its workspace is removed).
// Without API keys the server binds to loopback only.
//
// Thread-safety: run() blocks on one thread; stop() from any thread; requests run on the server's worker threads.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "apps/serve/api_error.h"
#include "apps/serve/api_keys.h"
#include "common/result.h"
#include "core/agent/agent_options.h"
#include "core/agent/dispatcher.h"
#include "core/protocol/glm4/chat_template.h"
#include "model/sequence_pool.h"
#include "model/tokenizer.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace alltools::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                       // 0: any free port (see Server::port())
  std::shared_ptr<ApiKeys> keys;         // null: no authentication (loopback hosts only)
  int max_queue = 64;                    // requests waiting for a sequence at once; more get 503
  std::chrono::milliseconds queue_timeout{30000};  // a waiting request gets 503 after this long
  std::size_t max_body_bytes = 4u << 20; // larger bodies get 413
  int max_tokens_cap = 4096;             // generated tokens per request at most (and the default)
  int worker_threads = 0;                // 0: pool limit + max_queue + 16 (every stream holds a thread)
  std::string model_id = "glm4-alltools";
};

// One server-side run's tools and the folder they work in; destroying it ends the sandbox and removes the folder.
class RunWorkspace {
 public:
  virtual ~RunWorkspace() = default;
  virtual agent::Dispatcher& dispatcher() = 0;
  virtual const std::filesystem::path& dir() const = 0;
};

struct ServerBackend {
  model::SequencePool* pool = nullptr;  // must outlive the server
  std::shared_ptr<const model::Tokenizer> tokenizer;
  // For /v1/alltools/runs (the endpoint answers 404 when unset): a fresh workspace and the agent options.
  std::function<Result<std::unique_ptr<RunWorkspace>>()> new_workspace;
  agent::AgentOptions run_options;
};

class Server {
 public:
  // Errors: no API keys with a host other than loopback; the port cannot be bound; a tokenizer without GLM-4
  // special tokens.
  static Result<std::unique_ptr<Server>> create(ServerOptions options, ServerBackend backend);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const { return port_; }
  // Serves until stop(). Errors: the listener failed.
  Status run();
  void stop();

  // Counts a request in flight while the returned token lives. When the last one in flight ends, freed heap
  // memory goes back to the OS (malloc_trim, at most once a second): a long-running server's RSS follows its load.
  std::shared_ptr<void> track_request();

  // Counters (also in GET /health).
  int runs_active() const { return runs_active_.load(); }
  int waiting() const { return waiting_.load(); }

 private:
  class Session;
  Server(ServerOptions options, ServerBackend backend, protocol::glm4::ChatTemplate chat_template);
  // The key slot of an authorised request, or the error to answer.
  std::variant<std::optional<ApiKeys::Slot>, ApiError> authorize(const httplib::Request& req);
  // The first steps of every POST endpoint: the key (its concurrency slot goes to *slot) and the body parsed as
  // JSON. On failure the error has been sent and the result is empty.
  std::optional<nlohmann::json> open_request(const httplib::Request& req, httplib::Response& res,
                                             std::optional<ApiKeys::Slot>* slot);
  // A sequence of the pool, waiting in the bounded queue if needed.
  std::variant<std::unique_ptr<model::LanguageModel>, ApiError> admit(std::span<const model::TokenId> prompt);
  void handle_chat(const httplib::Request& req, httplib::Response& res);
  void handle_completion(const httplib::Request& req, httplib::Response& res);
  void handle_run(const httplib::Request& req, httplib::Response& res);
  void handle_health(httplib::Response& res);
  void handle_models(httplib::Response& res);
  std::vector<model::TokenId> required_tool_forbidden();  // ids that would start an answer ("\n...")

  ServerOptions options_;
  ServerBackend backend_;
  protocol::glm4::ChatTemplate template_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::atomic<int> waiting_{0};
  std::atomic<int> runs_active_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<std::int64_t> last_trim_ms_{0};
  std::once_flag answer_starts_once_;
  std::vector<model::TokenId> answer_starts_;
};

void send_error(httplib::Response& res, const ApiError& error);

}  // namespace alltools::serve
