// A real HTTP/1.1 server on 127.0.0.1 for tests: it serves a scripted queue of responses (status, headers, body
// chunks sent with chunked transfer encoding, optional delays, optionally dropping the connection mid-body) and
// records every request it received. One connection at a time; each response closes its connection.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace alltools::testing {

struct ScriptedResponse {
  int status = 200;
  std::vector<std::string> headers;  // "Name: value"
  std::vector<std::string> chunks;   // body pieces, each flushed separately
  std::chrono::milliseconds delay_between_chunks{0};
  int drop_after_chunks = -1;        // >= 0: close the socket after that many chunks, without finishing the body
  std::chrono::milliseconds delay_before_headers{0};
};

struct ReceivedRequest {
  std::string method, path;
  std::vector<std::string> headers;  // raw "Name: value" lines
  std::string body;
  std::string header(const std::string& name) const;  // case-insensitive lookup, "" if absent
};

class LoopbackHttpServer {
 public:
  LoopbackHttpServer();  // binds and starts serving; CHECK-fails if it cannot bind
  ~LoopbackHttpServer();
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void enqueue(ScriptedResponse r);
  std::vector<ReceivedRequest> requests() const;

  // SSE helper: "data: {json}\n\n".
  static std::string sse(const std::string& data) { return "data: " + data + "\n\n"; }

 private:
  void serve();
  void handle(int fd);
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::deque<ScriptedResponse> queue_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

// One SSE event of an OpenAI streaming completion (`text`, finish_reason, optional stop_reason).
inline std::string completion_chunk(const std::string& text, const char* finish = nullptr,
                                    nlohmann::json stop_reason = nullptr) {
  const nlohmann::json finish_reason = finish ? nlohmann::json(finish) : nlohmann::json(nullptr);
  nlohmann::json choice = {{"index", 0}, {"text", text}, {"finish_reason", finish_reason}};
  if (!stop_reason.is_null()) choice["stop_reason"] = stop_reason;
  return LoopbackHttpServer::sse(
      nlohmann::json{{"id", "cmpl-1"}, {"object", "text_completion"}, {"choices", {choice}}}.dump());
}

// One SSE event of an OpenAI streaming chat completion (`delta`, finish_reason).
inline std::string chat_chunk(nlohmann::json delta, const char* finish = nullptr) {
  const nlohmann::json finish_reason = finish ? nlohmann::json(finish) : nlohmann::json(nullptr);
  return LoopbackHttpServer::sse(
      nlohmann::json{{"id", "chat-1"},
                     {"object", "chat.completion.chunk"},
                     {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}}}}
          .dump());
}

}  // namespace alltools::testing
