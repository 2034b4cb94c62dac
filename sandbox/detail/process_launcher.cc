#include "sandbox/detail/process_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace alltools::sandbox::detail {
namespace {

constexpr int kHighFdBase = 64;  // child-side staging area for fds before they move to their final numbers

// What failed in the child, sent over a CLOEXEC pipe (nothing arrives when execve succeeds).
struct ChildFailure {
  int step;
  int err;
};
constexpr const char* kStepNames[] = {"setpgid", "PR_SET_PDEATHSIG", "parent died", "sigprocmask",
                                      "join cgroup", "dup fd", "dup2 fd", "close_range", "setrlimit",
                                      "setgroups", "setresgid", "setresuid", "chdir", "execve", "seccomp"};

[[noreturn]] void child_fail(int report_fd, int step) {
  ChildFailure f{step, errno};
  (void)!write(report_fd, &f, sizeof f);
  _exit(127);
}

// Runs in the child between fork and exec: async-signal-safe calls only; all inputs prepared by the parent.
[[noreturn]] void child_main(const SpawnSpec& spec, char* const* argv, char* const* envp, const int* cgroup_fds,
                             int n_cgroup_fds, int report_fd_in, pid_t parent) {
  // Move the report pipe above every target number first, so no dup2 below can overwrite it.
  const int report_fd = fcntl(report_fd_in, F_DUPFD_CLOEXEC, kHighFdBase);
  if (report_fd < 0) child_fail(report_fd_in, 5);
  if (setpgid(0, 0) != 0) child_fail(report_fd, 0);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(report_fd, 1);
  if (getppid() != parent) child_fail(report_fd, 2);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);  // EINVAL for KILL/STOP is fine
  sigset_t empty;
  sigemptyset(&empty);
  if (sigprocmask(SIG_SETMASK, &empty, nullptr) != 0) child_fail(report_fd, 3);
  for (int i = 0; i < n_cgroup_fds; ++i) {
    if (write(cgroup_fds[i], "0", 1) != 1) child_fail(report_fd, 4);
  }
  // Stage every source fd above all targets, then move it to its final number (dup2 clears CLOEXEC).
  int staged[32];
  const int n = static_cast<int>(spec.fds.size());
  const int stage_base = report_fd + 1;
  for (int i = 0; i < n && i < 32; ++i) {
    staged[i] = fcntl(spec.fds[i].second, F_DUPFD_CLOEXEC, stage_base);
    if (staged[i] < 0) child_fail(report_fd, 5);
  }
  for (int i = 0; i < n && i < 32; ++i) {
    if (dup2(staged[i], spec.fds[i].first) < 0) child_fail(report_fd, 6);
  }
  int max_target = 2;
  for (const auto& [target, source] : spec.fds) max_target = target > max_target ? target : max_target;
  // Close everything above the targets except the report pipe (CLOEXEC: it closes itself at execve).
  if (report_fd > max_target + 1 &&
      syscall(SYS_close_range, static_cast<unsigned>(max_target + 1), static_cast<unsigned>(report_fd - 1), 0) != 0)
    child_fail(report_fd, 7);
  if (syscall(SYS_close_range, static_cast<unsigned>(report_fd + 1), ~0U, 0) != 0) child_fail(report_fd, 7);
  for (const auto& [resource, limit] : spec.rlimits) {
    if (setrlimit(static_cast<__rlimit_resource>(resource), &limit) != 0) child_fail(report_fd, 8);
  }
  if (spec.switch_uid) {
    if (setgroups(0, nullptr) != 0) child_fail(report_fd, 9);
    if (setresgid(spec.gid, spec.gid, spec.gid) != 0) child_fail(report_fd, 10);
    if (setresuid(spec.uid, spec.uid, spec.uid) != 0) child_fail(report_fd, 11);
  }
  if (chdir(spec.cwd.c_str()) != 0) child_fail(report_fd, 12);
  if (!spec.seccomp_filter.empty()) {
    sock_fprog prog{static_cast<unsigned short>(spec.seccomp_filter.size() / sizeof(sock_filter)),
                    reinterpret_cast<sock_filter*>(const_cast<char*>(spec.seccomp_filter.data()))};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      child_fail(report_fd, 14);
  }
  execve(argv[0], argv, envp);
  child_fail(report_fd, 13);
}

Result<pid_t> spawn_now(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.fds.size() > 32) {
    return make_error(ErrorCode::kInvalidArgument, "spawn: empty argv or more than 32 fds");
  }
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::vector<int> cgroup_fds;
  auto close_all = [&] {
    for (int fd : cgroup_fds) close(fd);
  };
  for (const std::string& path : spec.cgroup_procs) {
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      close_all();
      return make_error(ErrorCode::kIo, "open " + path + ": " + std::strerror(err));
    }
    cgroup_fds.push_back(fd);
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    const int err = errno;
    close_all();
    return make_error(ErrorCode::kIo, std::string("pipe2: ") + std::strerror(err));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    child_main(spec, argv.data(), envp.data(), cgroup_fds.data(), static_cast<int>(cgroup_fds.size()), report[1],
               parent);
  }
  const int fork_errno = errno;
  close(report[1]);
  close_all();
  if (pid < 0) {
    close(report[0]);
    return make_error(ErrorCode::kResourceExhausted, std::string("fork: ") + std::strerror(fork_errno));
  }
  ChildFailure failure{};
  ssize_t got;
  do {
    got = read(report[0], &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    int status = 0;
    waitpid(pid, &status, 0);
    const int step = failure.step >= 0 && failure.step < 15 ? failure.step : 13;
    return make_error(ErrorCode::kUnavailable, "starting " + spec.argv[0] + ": " + kStepNames[step] +
                                                   " failed: " + std::strerror(failure.err));
  }
  return pid;
}

// The launcher thread: lives for the rest of the process (never joined; it only waits on its queue).
class Launcher {
 public:
  static Launcher& instance() {
    static Launcher* launcher = new Launcher();  // intentionally never destroyed: see the header comment
    return *launcher;
  }
  Result<pid_t> run(const SpawnSpec& spec) {
    std::packaged_task<Result<pid_t>()> task([&spec] { return spawn_now(spec); });
    auto future = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return future.get();
  }

 private:
  Launcher() { std::thread([this] { loop(); }).detach(); }
  void loop() {
    for (;;) {
      std::packaged_task<Result<pid_t>()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<Result<pid_t>()>> queue_;
};

}  // namespace

Result<pid_t> spawn_process(const SpawnSpec& spec) { return Launcher::instance().run(spec); }

}  // namespace alltools::sandbox::detail
