#include "tests/serve/serve_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/check.h"

namespace alltools::testing {
namespace {

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> v;
  for (auto& a : args) v.push_back(a.data());
  v.push_back(nullptr);
  return v;
}

}  // namespace

ServeProcess::ServeProcess(std::vector<std::string> args) {
  args.insert(args.begin() + 1, {"serve", "--port", "0"});
  int fds[2];
  ALLTOOLS_CHECK(::pipe(fds) == 0);
  pid_ = ::fork();
  ALLTOOLS_CHECK(pid_ >= 0);
  if (pid_ == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);
    auto argv = c_argv(args);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  stderr_fd_ = fds[0];
  std::string seen;
  const std::regex listening("listening on http://[^:]+:([0-9]+)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{stderr_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(stderr_fd_, buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<std::size_t>(n));
    std::smatch m;
    if (std::regex_search(seen, m, listening)) {
      port_ = std::stoi(m[1]);
      break;
    }
  }
  ALLTOOLS_CHECK_MSG(port_ > 0, ("alltools serve did not start: " + seen).c_str());
  // Keep draining stderr so the server never blocks on a full pipe.
  ::fcntl(stderr_fd_, F_SETFL, O_NONBLOCK);
}

ServeProcess::~ServeProcess() { stop(); }

int ServeProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
    char buf[4096];
    while (::read(stderr_fd_, buf, sizeof buf) > 0) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (i == 199) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  pid_ = -1;
  ::close(stderr_fd_);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

long ServeProcess::rss_kib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::vector<pid_t> ServeProcess::children() const {
  std::vector<pid_t> out;
  const std::string task = "/proc/" + std::to_string(pid_) + "/task";
  DIR* d = ::opendir(task.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(task + "/" + e->d_name + "/children");
    pid_t p;
    while (in >> p) out.push_back(p);
  }
  ::closedir(d);
  return out;
}

int run_command(const std::vector<std::string>& argv_in, std::string* output, int timeout_s) {
  std::vector<std::string> args = argv_in;
  int fds[2];
  ALLTOOLS_CHECK(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  ALLTOOLS_CHECK(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    auto argv = c_argv(args);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    output->append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace alltools::testing
