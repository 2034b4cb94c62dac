#include "tools/functions/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace alltools::tools::functions::detail {

namespace {
constexpr int kMaxFdToClose = 65536;             // child closes inherited fds below this (close_range fallback)
constexpr std::chrono::milliseconds kPollSlice{50};  // granularity of deadline/cancel checks

std::string errno_text(int err) { return std::strerror(err); }

// PATH lookup in the child's environment (done before fork: execve does not search).
std::string resolve_program(const std::string& prog, const std::vector<std::string>& env) {
  if (prog.find('/') != std::string::npos) return prog;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& kv : env) {
    if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (!dir.empty()) {
      std::string cand = dir + "/" + prog;
      if (::access(cand.c_str(), X_OK) == 0) return cand;
    }
    start = end + 1;
  }
  return prog;
}
}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(o.pid_), reaped_(o.reaped_), status_(o.status_), in_(std::move(o.in_)), out_(std::move(o.out_)),
      err_(std::move(o.err_)) {
  o.pid_ = -1;
  o.reaped_ = true;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !reaped_) {
    kill_group();
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  } else if (pid_ > 0) {
    // The leader is gone, but grandchildren of its group may live on.
    ::kill(-pid_, SIGKILL);
  }
}

void Subprocess::kill_group() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  if (!reaped_) ::kill(pid_, SIGKILL);
}

Result<int> Subprocess::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (reaped_) return status_;
  // Bounded by `deadline`; polls with a growing sleep (1 ms .. kPollSlice).
  auto sleep = std::chrono::milliseconds(1);
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = st;
      return st;
    }
    if (r < 0 && errno != EINTR) {
      return make_error(ErrorCode::kInternal, "waitpid: " + errno_text(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) return make_error(ErrorCode::kTimeout, "child still running");
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, kPollSlice);
  }
}

Result<Subprocess> Subprocess::spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return make_error(ErrorCode::kInvalidArgument, "empty command");
  const std::string program = resolve_program(options.argv[0], options.env);
  std::vector<char*> argv, envp;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string cwd = options.cwd.string();
  rlimit fd_limit{};
  const int max_fd = ::getrlimit(RLIMIT_NOFILE, &fd_limit) == 0 && fd_limit.rlim_cur < kMaxFdToClose
                         ? static_cast<int>(fd_limit.rlim_cur)
                         : kMaxFdToClose;

  int in[2], out[2], err[2], status_pipe[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return make_error(ErrorCode::kResourceExhausted, "pipe: " + errno_text(errno));
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return make_error(ErrorCode::kResourceExhausted, "pipe: " + errno_text(errno));
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return make_error(ErrorCode::kResourceExhausted, "pipe: " + errno_text(errno));
  UniqueFd err_r(err[0]), err_w(err[1]);
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    return make_error(ErrorCode::kResourceExhausted, "pipe: " + errno_text(errno));
  }
  UniqueFd st_r(status_pipe[0]), st_w(status_pipe[1]);

  pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorCode::kResourceExhausted, "fork: " + errno_text(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls until execve.
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(in_r.get(), 0) < 0 || ::dup2(out_w.get(), 1) < 0 || ::dup2(err_w.get(), 2) < 0) {
      int e = errno;
      (void)!::write(st_w.get(), &e, sizeof e);
      ::_exit(127);
    }
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(st_w.get(), &e, sizeof e);
      ::_exit(127);
    }
    // Our pipes are O_CLOEXEC, but other threads may have opened descriptors without it: close them all,
    // keeping only the status pipe (itself O_CLOEXEC) open until execve.
    const int keep = st_w.get();
    if ((keep > 3 && ::close_range(3, static_cast<unsigned>(keep - 1), 0) != 0) ||
        ::close_range(static_cast<unsigned>(keep + 1), ~0u, 0) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) {
        if (fd != keep) ::close(fd);
      }
    }
    ::execve(program.c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!::write(st_w.get(), &e, sizeof e);
    ::_exit(127);
  }
  Subprocess p;
  p.pid_ = pid;
  ::setpgid(pid, pid);  // also from the parent, so kill(-pid) works even before the child ran
  st_w.reset();
  in_r.reset();
  out_w.reset();
  err_w.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(st_r.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof child_errno) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    p.reaped_ = true;
    return make_error(ErrorCode::kNotFound, "cannot start '" + options.argv[0] + "': " + errno_text(child_errno));
  }
  p.in_ = std::move(in_w);
  p.out_ = std::move(out_r);
  p.err_ = std::move(err_r);
  return p;
}

ssize_t write_no_sigpipe(int fd, const void* data, std::size_t size) {
  sigset_t pipe_set, old_set, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  const ssize_t n = ::write(fd, data, size);
  const int err = errno;
  if (n < 0 && err == EPIPE && !was_pending) {
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = err;
  return n;
}

std::string describe_exit(int st) {
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    const char* name = ::strsignal(WTERMSIG(st));
    return "killed by signal " + std::to_string(WTERMSIG(st)) + " (" + (name ? name : "?") + ")";
  }
  return "ended with wait status " + std::to_string(st);
}

RunOutput run_to_completion(Subprocess& child, const std::string& input, std::size_t max_stdout,
                            std::size_t max_stderr, std::chrono::steady_clock::time_point deadline,
                            const std::atomic<bool>* cancel) {
  RunOutput out;
  std::size_t written = 0;
  if (input.empty()) child.close_stdin();
  if (child.stdin_fd() >= 0) ::fcntl(child.stdin_fd(), F_SETFL, ::fcntl(child.stdin_fd(), F_GETFL) | O_NONBLOCK);
  char buf[65536];
  auto stop = [&](bool* flag) {
    *flag = true;
    child.kill_group();
  };
  // Bounded by `deadline` (each poll waits at most kPollSlice).
  while (child.stdout_fd() >= 0 || child.stderr_fd() >= 0) {
    if (cancel && cancel->load()) {
      stop(&out.cancelled);
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      stop(&out.timed_out);
      break;
    }
    pollfd fds[3];
    int nfds = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (child.stdin_fd() >= 0) { idx_in = nfds; fds[nfds++] = {child.stdin_fd(), POLLOUT, 0}; }
    if (child.stdout_fd() >= 0) { idx_out = nfds; fds[nfds++] = {child.stdout_fd(), POLLIN, 0}; }
    if (child.stderr_fd() >= 0) { idx_err = nfds; fds[nfds++] = {child.stderr_fd(), POLLIN, 0}; }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    int timeout_ms = static_cast<int>(std::min(left, kPollSlice).count()) + 1;
    int r = ::poll(fds, nfds, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      stop(&out.timed_out);
      break;
    }
    if (idx_in >= 0 && fds[idx_in].revents) {
      if (fds[idx_in].revents & (POLLERR | POLLHUP)) {
        child.close_stdin();
      } else {
        ssize_t n = write_no_sigpipe(child.stdin_fd(), input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) child.close_stdin();
      }
    }
    if (idx_out >= 0 && fds[idx_out].revents) {
      ssize_t n = ::read(child.stdout_fd(), buf, sizeof buf);
      if (n > 0) {
        if (out.stdout_data.size() + static_cast<std::size_t>(n) > max_stdout) {
          stop(&out.stdout_overflow);
          break;
        }
        out.stdout_data.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        child.close_stdout();
      }
    }
    if (idx_err >= 0 && fds[idx_err].revents) {
      ssize_t n = ::read(child.stderr_fd(), buf, sizeof buf);
      if (n > 0) {
        std::size_t room = max_stderr > out.stderr_data.size() ? max_stderr - out.stderr_data.size() : 0;
        out.stderr_data.append(buf, std::min(room, static_cast<std::size_t>(n)));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        child.close_stderr();
      }
    }
  }
  child.close_stdin();
  auto st = child.wait_until(out.timed_out || out.cancelled || out.stdout_overflow
                                 ? std::chrono::steady_clock::now() + std::chrono::seconds(5)
                                 : deadline);
  if (!st.ok()) {
    out.timed_out = true;
    child.kill_group();
    st = child.wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  }
  if (st.ok()) out.wait_status = st.value();
  return out;
}

}  // namespace alltools::tools::functions::detail
