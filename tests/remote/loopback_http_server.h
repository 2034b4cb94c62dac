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

}  // namespace alltools::testing
