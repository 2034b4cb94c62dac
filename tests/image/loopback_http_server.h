// A small real HTTP/1.1 server on 127.0.0.1 for the image tests: one thread, one request per connection
// (Connection: close), answers from a handler. Requests it saw are recorded for assertions.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace alltools::test {

struct HttpExchange {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> extra_headers;
  std::chrono::milliseconds delay{0};  // before answering (interrupted by shutdown)
};

class LoopbackHttpServer {
 public:
  using Handler = std::function<HttpReply(const HttpExchange&)>;
  static constexpr std::size_t kMaxRequestBytes = 1 << 20;

  explicit LoopbackHttpServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<HttpExchange> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      handle(c);
      ::close(c);
    }
  }

  void handle(int c) {
    std::string data;
    char buf[8192];
    std::size_t header_end = std::string::npos;
    std::size_t need = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (data.size() < kMaxRequestBytes && std::chrono::steady_clock::now() < until && !stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, static_cast<std::size_t>(n));
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          HttpExchange ex = parse_head(data.substr(0, header_end));
          need = header_end + 4 + (ex.headers.count("content-length") ? std::stoul(ex.headers["content-length"]) : 0);
        }
      }
      if (header_end != std::string::npos && data.size() >= need) break;
    }
    if (header_end == std::string::npos) return;
    HttpExchange ex = parse_head(data.substr(0, header_end));
    ex.body = data.substr(header_end + 4);
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(ex);
    }
    HttpReply r = handler_(ex);
    auto wake = std::chrono::steady_clock::now() + r.delay;
    while (std::chrono::steady_clock::now() < wake && !stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Type: " + r.content_type +
                      "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n";
    for (const auto& h : r.extra_headers) out += h + "\r\n";
    out += "\r\n" + r.body;
    std::size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

  static HttpExchange parse_head(const std::string& head) {
    HttpExchange ex;
    std::size_t eol = head.find("\r\n");
    std::string first = head.substr(0, eol);
    std::size_t sp1 = first.find(' '), sp2 = first.find(' ', sp1 + 1);
    ex.method = first.substr(0, sp1);
    ex.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = eol == std::string::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string k = line.substr(0, colon);
        for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        ex.headers[k] = v;
      }
      pos = e + 2;
    }
    return ex;
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<HttpExchange> seen_;
};

}  // namespace alltools::test
