// Starts tests/browser/test_server.py (a real HTTP server on a loopback address) for the duration of a test.
// The child exits when its stdin closes; the destructor also kills and reaps it.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

extern char** environ;

namespace alltools::tests {

// Debian's python3-doc HTML (package python3-doc, listed in scripts/apt-packages.txt).
inline constexpr const char* kPythonDocs = "/usr/share/doc/python3-doc/html";

class TestServer {
 public:
  // Returns nullptr and fills `error` when the server does not come up.
  static std::unique_ptr<TestServer> start(const std::string& bind, std::string* error) {
    int in_pipe[2];
    int out_pipe[2];
    if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) {
      *error = "pipe() failed";
      return nullptr;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_addclose(&fa, in_pipe[1]);
    posix_spawn_file_actions_addclose(&fa, out_pipe[0]);
    const std::string script = std::string(ALLTOOLS_SOURCE_DIR) + "/tests/browser/test_server.py";
    std::string b = bind;
    std::string docs = kPythonDocs;
    char arg0[] = "/usr/bin/python3";
    char arg2[] = "--bind";
    char arg4[] = "--docs";
    std::string s = script;
    char* argv[] = {arg0, s.data(), arg2, b.data(), arg4, docs.data(), nullptr};
    auto srv = std::unique_ptr<TestServer>(new TestServer());
    const int rc = posix_spawn(&srv->pid_, "/usr/bin/python3", &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in_pipe[0]);
    close(out_pipe[1]);
    srv->stdin_fd_ = in_pipe[1];
    if (rc != 0) {
      close(out_pipe[0]);
      srv->pid_ = -1;
      *error = "posix_spawn /usr/bin/python3 failed";
      return nullptr;
    }
    FILE* out = fdopen(out_pipe[0], "r");
    char line[256] = {};
    const bool got = out != nullptr && std::fgets(line, sizeof line, out) != nullptr;
    if (out != nullptr) std::fclose(out);
    if (!got || std::sscanf(line, "PORT %d", &srv->port_) != 1) {
      *error = std::string("test server did not start (") + script + "): " + line;
      return nullptr;
    }
    srv->host_ = bind;
    return srv;
  }

  ~TestServer() {
    if (stdin_fd_ >= 0) close(stdin_fd_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  std::string base() const { return "http://" + host_ + ":" + std::to_string(port_); }

 private:
  TestServer() = default;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int port_ = 0;
  std::string host_;
};

}  // namespace alltools::tests
