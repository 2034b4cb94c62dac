#include "tests/e2e/pty_process.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/check.h"

namespace alltools::testing {

PtyProcess::PtyProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  winsize ws{};
  ws.ws_row = 50;
  ws.ws_col = 200;
  pid_ = forkpty(&master_, nullptr, nullptr, &ws);
  ALLTOOLS_CHECK(pid_ >= 0);
  if (pid_ == 0) {
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s failed: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
}

PtyProcess::~PtyProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (master_ >= 0) close(master_);
}

bool PtyProcess::read_some(std::chrono::milliseconds timeout) {
  if (eof_) return false;
  pollfd p{master_, POLLIN, 0};
  const int r = poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0) return false;
  char buf[4096];
  const ssize_t n = read(master_, buf, sizeof buf);
  if (n <= 0) {  // EIO when the child closed the terminal
    eof_ = true;
    return false;
  }
  output_.append(buf, static_cast<std::size_t>(n));
  return true;
}

bool PtyProcess::wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const std::size_t at = output_.find(needle, matched_);
    if (at != std::string::npos) {
      matched_ = at + needle.size();
      return true;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || eof_) return false;
    read_some(std::min(left, std::chrono::milliseconds(100)));
  }
}

void PtyProcess::type(const std::string& text) {
  ALLTOOLS_CHECK(write(master_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
}

int PtyProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_ && std::chrono::steady_clock::now() < deadline) read_some(std::chrono::milliseconds(100));
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(10000);
  }
  return -1;
}

}  // namespace alltools::testing
