#include "tools/functions/mcp_client.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "tools/functions/subprocess.h"

namespace alltools::tools::functions {

namespace {
constexpr const char* kProtocolVersion = "2025-06-18";
constexpr int kMaxListPages = 100;                       // tools/list pagination bound
constexpr std::size_t kMaxStderrKept = 16 << 10;         // last bytes of server stderr kept for error messages
constexpr std::chrono::milliseconds kPollSlice{50};
constexpr std::chrono::milliseconds kShutdownGrace{1000};  // after closing stdin, before SIGKILL
}  // namespace

struct McpClient::Impl {
  McpServerConfig config;
  std::unique_ptr<detail::Subprocess> child;
  nlohmann::json server_info;

  std::mutex write_mu;
  std::mutex mu;  // guards everything below
  std::condition_variable cv;
  struct Pending {
    bool done = false;
    Result<nlohmann::json> result = make_error(ErrorCode::kInternal, "no answer");
  };
  std::map<std::int64_t, std::shared_ptr<Pending>> pending;
  std::int64_t next_id = 1;
  bool dead = false;
  std::string death_reason;
  std::string stderr_tail;
  std::atomic<bool> stop{false};
  std::thread reader;

  Status send(const nlohmann::json& msg) {
    std::string line = msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard<std::mutex> lock(write_mu);
    const int fd = child->stdin_fd();
    if (fd < 0) return make_error(ErrorCode::kUnavailable, "MCP server '" + config.name + "' input is closed");
    std::size_t off = 0;
    while (off < line.size()) {  // bounded: each write makes progress or fails
      ssize_t n = detail::write_no_sigpipe(fd, line.data() + off, line.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return make_error(ErrorCode::kUnavailable, "MCP server '" + config.name + "': write failed: " + std::strerror(errno));
      }
      off += static_cast<std::size_t>(n);
    }
    return ok_status();
  }

  void fail_all(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu);
    if (!dead) {
      dead = true;
      death_reason = reason;
    }
    for (auto& [id, p] : pending) {
      if (!p->done) {
        p->done = true;
        std::string msg = "MCP server '" + config.name + "' " + death_reason;
        if (!stderr_tail.empty()) msg += "; its stderr: " + stderr_tail.substr(stderr_tail.size() > 1000 ? stderr_tail.size() - 1000 : 0);
        p->result = make_error(ErrorCode::kUnavailable, msg);
      }
    }
    cv.notify_all();
  }

  void handle_message(const nlohmann::json& msg) {
    if (!msg.is_object()) return;
    const bool has_method = msg.contains("method") && msg["method"].is_string();
    if (has_method && msg.contains("id")) {
      // A request from the server. We declare no client capabilities; answer ping, refuse the rest.
      nlohmann::json reply = {{"jsonrpc", "2.0"}, {"id", msg["id"]}};
      if (msg["method"] == "ping") {
        reply["result"] = nlohmann::json::object();
      } else {
        reply["error"] = {{"code", -32601}, {"message", "method not supported by this client"}};
      }
      (void)send(reply);
      return;
    }
    if (has_method) return;  // a notification (logging, progress, list_changed): nothing to do
    if (!msg.contains("id") || !msg["id"].is_number_integer()) return;
    const std::int64_t id = msg["id"].get<std::int64_t>();
    std::lock_guard<std::mutex> lock(mu);
    auto it = pending.find(id);
    if (it == pending.end()) return;  // late answer to a cancelled request
    auto& p = *it->second;
    p.done = true;
    if (msg.contains("error") && msg["error"].is_object()) {
      const auto& e = msg["error"];
      std::string text = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : e.dump();
      if (e.contains("code")) text += " (JSON-RPC error " + e["code"].dump() + ")";
      p.result = make_error(ErrorCode::kInvalidArgument, text);
    } else if (msg.contains("result")) {
      p.result = msg["result"];
    } else {
      p.result = make_error(ErrorCode::kParse, "answer has neither result nor error");
    }
    cv.notify_all();
  }

  // Reads stdout lines and stderr until both close or stop is set. Bounded by the pipes' lifetime.
  void read_loop() {
    std::string buf;
    char chunk[65536];
    while (!stop.load()) {
      pollfd fds[2];
      int n = 0, io = -1, ie = -1;
      if (child->stdout_fd() >= 0) { io = n; fds[n++] = {child->stdout_fd(), POLLIN, 0}; }
      if (child->stderr_fd() >= 0) { ie = n; fds[n++] = {child->stderr_fd(), POLLIN, 0}; }
      if (io < 0) break;
      int r = ::poll(fds, n, static_cast<int>(kPollSlice.count()));
      if (r < 0 && errno != EINTR) break;
      if (r <= 0) continue;
      if (ie >= 0 && fds[ie].revents) {
        ssize_t k = ::read(child->stderr_fd(), chunk, sizeof chunk);
        if (k > 0) {
          std::lock_guard<std::mutex> lock(mu);
          stderr_tail.append(chunk, static_cast<std::size_t>(k));
          if (stderr_tail.size() > kMaxStderrKept) stderr_tail.erase(0, stderr_tail.size() - kMaxStderrKept);
        } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
          child->close_stderr();
        }
      }
      if (fds[io].revents) {
        ssize_t k = ::read(child->stdout_fd(), chunk, sizeof chunk);
        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) break;
        if (k < 0) continue;
        buf.append(chunk, static_cast<std::size_t>(k));
        std::size_t start = 0;
        for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
          std::string_view line(buf.data() + start, nl - start);
          if (line.empty() || line == "\r") continue;
          nlohmann::json msg = nlohmann::json::parse(line, nullptr, false);
          if (!msg.is_discarded()) handle_message(msg);
        }
        buf.erase(0, start);
        if (buf.size() > config.max_message_bytes) {
          fail_all("sent a message larger than " + std::to_string(config.max_message_bytes) + " bytes");
          child->kill_group();
          return;
        }
      }
    }
    // Only the owner thread waits for the child (no waitpid here): report what we saw.
    if (!stop.load()) {
      fail_all("closed its output (it exited or crashed)");
    } else {
      fail_all("was shut down");
    }
  }
};

McpClient::McpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

McpClient::~McpClient() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->write_mu);
    impl_->child->close_stdin();  // the MCP stdio shutdown: close input, wait, then kill
  }
  (void)impl_->child->wait_until(std::chrono::steady_clock::now() + kShutdownGrace);
  impl_->child->kill_group();
  impl_->stop = true;
  if (impl_->reader.joinable()) impl_->reader.join();
}

const std::string& McpClient::name() const { return impl_->config.name; }
const nlohmann::json& McpClient::server_info() const { return impl_->server_info; }

Result<nlohmann::json> McpClient::request(const std::string& method, const nlohmann::json& params,
                                          std::chrono::steady_clock::time_point deadline,
                                          const std::atomic<bool>* cancel) {
  Impl& s = *impl_;
  auto p = std::make_shared<Impl::Pending>();
  std::int64_t id;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.dead) return make_error(ErrorCode::kUnavailable, "MCP server '" + s.config.name + "' " + s.death_reason);
    id = s.next_id++;
    s.pending[id] = p;
  }
  nlohmann::json msg = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) msg["params"] = params;
  if (Status st = s.send(msg); !st.ok()) {
    std::lock_guard<std::mutex> lock(s.mu);
    s.pending.erase(id);
    return st.error();
  }
  std::unique_lock<std::mutex> lock(s.mu);
  // Bounded by `deadline`; wakes every kPollSlice to check `cancel`.
  while (!p->done) {
    const bool cancelled = cancel != nullptr && cancel->load();
    if (cancelled || std::chrono::steady_clock::now() >= deadline) {
      s.pending.erase(id);
      lock.unlock();
      const std::string reason = cancelled ? "cancelled by the user" : "deadline passed";
      (void)s.send({{"jsonrpc", "2.0"},
                    {"method", "notifications/cancelled"},
                    {"params", {{"requestId", id}, {"reason", reason}}}});
      if (cancelled) return make_error(ErrorCode::kCancelled, method + " was cancelled");
      return make_error(ErrorCode::kTimeout, "timed out: MCP server '" + s.config.name + "' did not answer " + method + " in time");
    }
    s.cv.wait_for(lock, kPollSlice);
  }
  s.pending.erase(id);
  return std::move(p->result);
}

Result<std::shared_ptr<McpClient>> McpClient::start(const McpServerConfig& config) {
  if (config.command.empty()) return make_error(ErrorCode::kInvalidArgument, "MCP server '" + config.name + "' has no command");
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  detail::SpawnOptions opt;
  opt.argv.push_back(config.command);
  for (const auto& a : config.args) opt.argv.push_back(a);
  opt.cwd = config.cwd;
  // A clean environment: what a server needs to find its interpreter, plus the configured variables.
  for (const char* k : {"PATH", "HOME", "LANG", "TMPDIR"}) {
    if (const char* v = std::getenv(k)) opt.env.push_back(std::string(k) + "=" + v);
  }
  for (const auto& [k, v] : config.env) opt.env.push_back(k + "=" + v);
  auto child = detail::Subprocess::spawn(opt);
  if (!child.ok()) return child.error().context("MCP server '" + config.name + "'");
  impl->child = std::make_unique<detail::Subprocess>(std::move(child).value());
  Impl* raw = impl.get();
  impl->reader = std::thread([raw] { raw->read_loop(); });
  std::shared_ptr<McpClient> client(new McpClient(std::move(impl)));

  const auto deadline = std::chrono::steady_clock::now() + config.startup_timeout;
  nlohmann::json init_params = {{"protocolVersion", kProtocolVersion},
                                {"capabilities", nlohmann::json::object()},
                                {"clientInfo", {{"name", "alltools"}, {"version", "0.1.0"}}}};
  auto init = client->request("initialize", init_params, deadline, nullptr);
  if (!init.ok()) return init.error().context("MCP server '" + config.name + "' initialize");
  if (!init.value().is_object() || !init.value().contains("protocolVersion")) {
    return make_error(ErrorCode::kParse, "MCP server '" + config.name + "' sent an initialize result without protocolVersion");
  }
  if (init.value().contains("serverInfo")) raw->server_info = init.value()["serverInfo"];
  ALLTOOLS_RETURN_IF_ERROR(raw->send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}));
  return client;
}

Result<std::vector<McpToolInfo>> McpClient::list_tools() {
  std::vector<McpToolInfo> tools;
  nlohmann::json cursor;
  const auto deadline = std::chrono::steady_clock::now() + impl_->config.startup_timeout;
  for (int page = 0; page < kMaxListPages; ++page) {
    nlohmann::json params = nlohmann::json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    ALLTOOLS_ASSIGN_OR_RETURN(nlohmann::json r, request("tools/list", params, deadline, nullptr));
    if (!r.is_object() || !r.contains("tools") || !r["tools"].is_array()) {
      return make_error(ErrorCode::kParse, "MCP server '" + impl_->config.name + "': tools/list result has no tools array");
    }
    for (const auto& t : r["tools"]) {
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) continue;
      McpToolInfo info;
      info.name = t["name"].get<std::string>();
      if (t.contains("description") && t["description"].is_string()) info.description = t["description"].get<std::string>();
      if (t.contains("inputSchema") && t["inputSchema"].is_object()) {
        info.input_schema = nlohmann::ordered_json::parse(t["inputSchema"].dump());
      } else {
        info.input_schema = {{"type", "object"}};
      }
      tools.push_back(std::move(info));
    }
    if (!r.contains("nextCursor") || r["nextCursor"].is_null()) return tools;
    cursor = r["nextCursor"];
  }
  return make_error(ErrorCode::kOutOfRange, "MCP server '" + impl_->config.name + "': more than 100 pages of tools");
}

Result<McpCallResult> McpClient::call_tool(const std::string& tool, const nlohmann::json& arguments,
                                           std::chrono::steady_clock::time_point deadline,
                                           const std::atomic<bool>* cancel) {
  deadline = std::min(deadline, std::chrono::steady_clock::now() + impl_->config.call_timeout);
  ALLTOOLS_ASSIGN_OR_RETURN(nlohmann::json r,
                            request("tools/call", {{"name", tool}, {"arguments", arguments}}, deadline, cancel));
  if (!r.is_object()) return make_error(ErrorCode::kParse, "tools/call result is not an object");
  McpCallResult out;
  out.is_error = r.contains("isError") && r["isError"].is_boolean() && r["isError"].get<bool>();
  if (r.contains("content") && r["content"].is_array()) {
    for (const auto& c : r["content"]) {
      if (!c.is_object()) continue;
      const std::string type = c.value("type", "");
      std::string part;
      if (type == "text" && c.contains("text") && c["text"].is_string()) {
        part = c["text"].get<std::string>();
      } else if (type == "image" || type == "audio") {
        part = "[" + type + ": " + c.value("mimeType", std::string("?")) + "]";
      } else if (type == "resource" && c.contains("resource") && c["resource"].is_object()) {
        const auto& res = c["resource"];
        part = res.contains("text") && res["text"].is_string() ? res["text"].get<std::string>()
                                                                : "[resource: " + res.value("uri", std::string("?")) + "]";
      } else if (type == "resource_link") {
        part = "[resource link: " + c.value("uri", std::string("?")) + "]";
      } else {
        continue;
      }
      if (!out.text.empty()) out.text += "\n";
      out.text += part;
    }
  }
  if (out.text.empty() && r.contains("structuredContent")) out.text = r["structuredContent"].dump();
  return out;
}

}  // namespace alltools::tools::functions
