#include "apps/serve/server.h"

#include <malloc.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include <httplib.h>

#include "apps/serve/openai_request.h"
#include "apps/serve/run_workspace.h"

namespace alltools::serve {
namespace {

using nlohmann::json;

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.rfind("127.", 0) == 0;
}

ApiError status_error(int status) {
  switch (status) {
    case 404: return ApiError{404, "no such endpoint (see GET /v1/models, POST /v1/chat/completions, "
                                   "POST /v1/completions, POST /v1/alltools/runs, GET /health)",
                              "invalid_request_error", "", "not_found", 0};
    case 405: return ApiError{405, "method not allowed on this path", "invalid_request_error", "", "", 0};
    case 413: return ApiError{413, "the request body is larger than this server accepts", "invalid_request_error",
                              "", "request_too_large", 0};
    case 414: return ApiError{414, "the request URI is too long", "invalid_request_error", "", "", 0};
    case 500: return ApiError{500, "internal server error", "server_error", "", "", 0};
    default: return ApiError{status, "bad request", status >= 500 ? "server_error" : "invalid_request_error", "", "", 0};
  }
}

}  // namespace

void send_error(httplib::Response& res, const ApiError& error) {
  res.status = error.status;
  if (error.retry_after_s > 0) res.set_header("Retry-After", std::to_string(error.retry_after_s));
  res.set_content(error.body().dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

Server::Server(ServerOptions options, ServerBackend backend, protocol::glm4::ChatTemplate chat_template)
    : options_(std::move(options)), backend_(std::move(backend)), template_(std::move(chat_template)),
      http_(std::make_unique<httplib::Server>()) {}

Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::create(ServerOptions options, ServerBackend backend) {
  if (backend.pool == nullptr || backend.tokenizer == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "serve: no model pool or tokenizer");
  if (!options.keys && !is_loopback_host(options.host))
    return make_error(ErrorCode::kInvalidArgument,
                      "refusing to listen on " + options.host +
                          " without API keys: pass --api-key-file FILE, or listen on 127.0.0.1 (loopback)");
  ALLTOOLS_ASSIGN_OR_RETURN(auto chat_template, protocol::glm4::ChatTemplate::create(*backend.tokenizer));
  std::unique_ptr<Server> s(new Server(std::move(options), std::move(backend), std::move(chat_template)));
  Server* self = s.get();
  httplib::Server& http = *s->http_;
  const int threads = s->options_.worker_threads > 0 ? s->options_.worker_threads : s->options_.max_queue + 64;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  http.set_payload_max_length(s->options_.max_body_bytes);
  http.set_read_timeout(std::chrono::seconds(30));
  http.set_write_timeout(std::chrono::seconds(30));
  // The first request of a connection must arrive within this (a starved client under load can take seconds).
  http.set_keep_alive_timeout(30);
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    ApiError e = status_error(500);
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& ex) {
      e.message = std::string("internal server error: ") + ex.what();
    } catch (...) {
    }
    send_error(res, e);
  });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) send_error(res, status_error(res.status));
  });
  // Every handler catches what third-party code (JSON, the HTTP library) may throw: nothing crosses into httplib.
  auto guarded = [self](void (Server::*handler)(const httplib::Request&, httplib::Response&)) {
    return [self, handler](const httplib::Request& req, httplib::Response& res) {
      try {
        (self->*handler)(req, res);
      } catch (const std::exception& ex) {
        send_error(res, ApiError{500, std::string("internal server error: ") + ex.what(), "server_error", "", "", 0});
      }
    };
  };
  http.Post("/v1/chat/completions", guarded(&Server::handle_chat));
  http.Post("/v1/completions", guarded(&Server::handle_completion));
  http.Post("/v1/alltools/runs", guarded(&Server::handle_run));
  http.Get("/v1/models", [self](const httplib::Request& req, httplib::Response& res) {
    auto auth = self->authorize(req);
    if (auto* e = std::get_if<ApiError>(&auth)) return send_error(res, *e);
    self->handle_models(res);
  });
  http.Get("/health", [self](const httplib::Request&, httplib::Response& res) { self->handle_health(res); });

  // cpp-httplib listens with a backlog of 5 (compiled into Debian's library): 32 clients connecting at once
  // overflowed the accept queue, the kernel fell back to SYN cookies and some connections were lost before a
  // request reached us. The listening socket is caught here (the only socket these options are applied to) and
  // listen() is called again with the system's maximum once it is bound. SO_REUSEADDR as usual, but not
  // httplib's default SO_REUSEPORT, which would let a second server share the port silently.
  auto listen_fd = std::make_shared<int>(-1);
  http.set_socket_options([listen_fd](int fd) {
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    *listen_fd = fd;
  });
  if (s->options_.port == 0) {
    s->port_ = http.bind_to_any_port(s->options_.host);
    if (s->port_ <= 0) return make_error(ErrorCode::kUnavailable, "cannot bind " + s->options_.host);
  } else {
    if (!http.bind_to_port(s->options_.host, s->options_.port))
      return make_error(ErrorCode::kUnavailable,
                        "cannot bind " + s->options_.host + ":" + std::to_string(s->options_.port) +
                            " (in use, or not an address of this machine)");
    s->port_ = s->options_.port;
  }
  if (*listen_fd >= 0 && ::listen(*listen_fd, SOMAXCONN) != 0)
    return make_error(ErrorCode::kUnavailable, std::string("listen: ") + std::strerror(errno));
  return s;
}

Status Server::run() {
  if (!http_->listen_after_bind()) return make_error(ErrorCode::kUnavailable, "the listener stopped with an error");
  return ok_status();
}

void Server::stop() {
  if (http_) http_->stop();
}

std::optional<json> Server::open_request(const httplib::Request& req, httplib::Response& res,
                                         std::optional<ApiKeys::Slot>* slot) {
  auto auth = authorize(req);
  if (auto* e = std::get_if<ApiError>(&auth)) {
    send_error(res, *e);
    return std::nullopt;
  }
  *slot = std::move(std::get<0>(auth));
  auto body = parse_json_body(req.body);
  if (auto* e = std::get_if<ApiError>(&body)) {
    send_error(res, *e);
    return std::nullopt;
  }
  return std::move(std::get<json>(body));
}

std::variant<std::optional<ApiKeys::Slot>, ApiError> Server::authorize(const httplib::Request& req) {
  requests_.fetch_add(1);
  if (!options_.keys) return std::optional<ApiKeys::Slot>();
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0)
    return ApiError{401, "missing API key: send 'Authorization: Bearer KEY'", "authentication_error", "",
                    "invalid_api_key", 0};
  auto index = options_.keys->check(std::string_view(header).substr(kBearer.size()));
  if (!index) return ApiError{401, "invalid API key", "authentication_error", "", "invalid_api_key", 0};
  auto slot = options_.keys->acquire(*index);
  if (!slot)
    return ApiError{429,
                    "this API key already has " + std::to_string(options_.keys->max_concurrent_per_key()) +
                        " requests in flight; retry when one finishes",
                    "rate_limit_error", "", "concurrency_limit", 1};
  return std::optional<ApiKeys::Slot>(std::move(slot));
}

std::variant<std::unique_ptr<model::LanguageModel>, ApiError> Server::admit(std::span<const model::TokenId> prompt) {
  auto busy = [&](std::string why) { return ApiError{503, std::move(why), "server_error", "", "overloaded", 2}; };
  auto other = [&](const Error& e) {
    return ApiError{503, "no sequence for this request: " + e.message, "server_error", "", "", 2};
  };
  auto first = backend_.pool->open(prompt);
  if (first.ok()) return std::move(first).value();
  if (first.error().code != ErrorCode::kResourceExhausted) return other(first.error());
  if (waiting_.fetch_add(1) >= options_.max_queue) {
    waiting_.fetch_sub(1);
    return busy("the server is at capacity and " + std::to_string(options_.max_queue) +
                " requests are already waiting; retry later");
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.queue_timeout;
  std::variant<std::unique_ptr<model::LanguageModel>, ApiError> out =
      busy("no sequence became free within " + std::to_string(options_.queue_timeout.count()) + " ms; retry later");
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto next = backend_.pool->open(prompt);
    if (next.ok()) {
      out = std::move(next).value();
      break;
    }
    if (next.error().code != ErrorCode::kResourceExhausted) {
      out = other(next.error());
      break;
    }
  }
  waiting_.fetch_sub(1);
  return out;
}

std::shared_ptr<void> Server::track_request() {
  in_flight_.fetch_add(1);
  return std::shared_ptr<void>(nullptr, [this](void*) {
    if (in_flight_.fetch_sub(1) != 1) return;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = last_trim_ms_.load();
    if (now - last >= 1000 && last_trim_ms_.compare_exchange_strong(last, now)) ::malloc_trim(0);
  });
}

void Server::handle_health(httplib::Response& res) {
  const model::SequencePoolStats st = backend_.pool->stats();
  json j = {{"status", "ok"},
            {"model", options_.model_id},
            {"sequences_active", st.active},
            {"sequences_generating", st.generating},
            {"sequences_parked", st.parked},
            {"kv_bytes", st.kv_bytes},
            {"waiting", waiting_.load()},
            {"in_flight", in_flight_.load()},
            {"runs_active", runs_active_.load()},
            {"workspaces_live", live_workspaces()},
            {"requests", requests_.load()}};
  res.set_content(j.dump(), "application/json");
}

void Server::handle_models(httplib::Response& res) {
  json model = {{"id", options_.model_id},
                {"object", "model"},
                {"created", 0},
                {"owned_by", "alltools"},
                {"max_model_len", backend_.pool->info().max_context}};
  res.set_content(json{{"object", "list"}, {"data", json::array({model})}}.dump(), "application/json");
}

std::vector<model::TokenId> Server::required_tool_forbidden() {
  std::call_once(answer_starts_once_, [this] {
    const model::Tokenizer& tok = *backend_.tokenizer;
    for (model::TokenId id = 0; id < tok.vocab_size(); ++id) {
      if (tok.is_special(id)) {
        answer_starts_.push_back(id);  // a role token or EOS first means no call
        continue;
      }
      const std::string bytes = tok.decode_bytes(std::span<const model::TokenId>(&id, 1));
      if (!bytes.empty() && bytes[0] == '\n') answer_starts_.push_back(id);
    }
  });
  return answer_starts_;
}

}  // namespace alltools::serve
