#include "tests/remote/loopback_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/check.h"

namespace alltools::testing {
namespace {

bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 401: return "Unauthorized";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

std::string ReceivedRequest::header(const std::string& name) const {
  const std::string want = lower(name) + ":";
  for (const std::string& h : headers) {
    if (lower(h.substr(0, want.size())) == want) {
      std::string v = h.substr(want.size());
      while (!v.empty() && v.front() == ' ') v.erase(v.begin());
      return v;
    }
  }
  return "";
}

LoopbackHttpServer::LoopbackHttpServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ALLTOOLS_CHECK(listen_fd_ >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ALLTOOLS_CHECK(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ALLTOOLS_CHECK(::listen(listen_fd_, 16) == 0);
  socklen_t len = sizeof addr;
  ALLTOOLS_CHECK(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
  stop_.store(true);
  thread_.join();
  ::close(listen_fd_);
}

void LoopbackHttpServer::enqueue(ScriptedResponse r) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(r));
}

std::vector<ReceivedRequest> LoopbackHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void LoopbackHttpServer::serve() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void LoopbackHttpServer::handle(int fd) {
  std::string in;
  char buf[4096];
  size_t header_end = std::string::npos;
  while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    in.append(buf, static_cast<size_t>(n));
  }
  ReceivedRequest req;
  {
    const std::string head = in.substr(0, header_end);
    size_t pos = head.find("\r\n");
    const std::string first = head.substr(0, pos);
    const size_t sp1 = first.find(' '), sp2 = first.find(' ', sp1 + 1);
    req.method = first.substr(0, sp1);
    req.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
    while (pos != std::string::npos && pos < head.size()) {
      const size_t next = head.find("\r\n", pos + 2);
      req.headers.push_back(head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2));
      pos = next;
    }
  }
  const size_t length = std::strtoul(req.header("Content-Length").c_str(), nullptr, 10);
  req.body = in.substr(header_end + 4);
  while (req.body.size() < length) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    req.body.append(buf, static_cast<size_t>(n));
  }
  ScriptedResponse r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(req);
    if (queue_.empty()) {
      r.status = 500;
      r.chunks = {"{\"error\":{\"message\":\"test server: no scripted response left\"}}"};
    } else {
      r = std::move(queue_.front());
      queue_.pop_front();
    }
  }
  std::this_thread::sleep_for(r.delay_before_headers);
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  bool has_type = false;
  for (const std::string& h : r.headers) {
    head += h + "\r\n";
    has_type = has_type || lower(h).rfind("content-type:", 0) == 0;
  }
  if (!has_type) head += r.status == 200 ? "Content-Type: text/event-stream\r\n" : "Content-Type: application/json\r\n";
  head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  if (!send_all(fd, head)) return;
  for (size_t i = 0; i < r.chunks.size(); ++i) {
    if (r.drop_after_chunks >= 0 && static_cast<int>(i) >= r.drop_after_chunks) return;
    if (i > 0) std::this_thread::sleep_for(r.delay_between_chunks);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", r.chunks[i].size());
    if (!send_all(fd, size + r.chunks[i] + "\r\n")) return;
  }
  if (r.drop_after_chunks >= 0) return;
  send_all(fd, "0\r\n\r\n");
}

}  // namespace alltools::testing
