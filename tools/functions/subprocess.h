// Subprocess: a child started with fork/execve in its own process group, with pipes for stdin, stdout and
// stderr. RAII: the destructor SIGKILLs the whole group and reaps the child. Internal to tools/functions.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace alltools::tools::functions::detail {

// An owned file descriptor (closed on destruction).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }
  void reset();
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct SpawnOptions {
  std::vector<std::string> argv;          // argv[0] is the program: a path, or a name looked up in PATH of `env`
  std::vector<std::string> env;           // the complete environment, "KEY=value"
  std::filesystem::path cwd;              // empty: inherit
};

class Subprocess {
 public:
  static Result<Subprocess> spawn(const SpawnOptions& options);

  Subprocess(Subprocess&& o) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  Subprocess(const Subprocess&) = delete;
  ~Subprocess();  // kill_group() + reap

  pid_t pid() const { return pid_; }
  int stdin_fd() const { return in_.get(); }
  int stdout_fd() const { return out_.get(); }
  int stderr_fd() const { return err_.get(); }
  void close_stdin() { in_.reset(); }
  void close_stdout() { out_.reset(); }
  void close_stderr() { err_.reset(); }

  void kill_group();  // SIGKILL to the process group; idempotent
  // Waits for the child to exit until `deadline`; returns the waitpid status, or kTimeout.
  Result<int> wait_until(std::chrono::steady_clock::time_point deadline);
  bool exited() const { return reaped_; }

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  UniqueFd in_, out_, err_;
};

// write(2) that never raises SIGPIPE: a child that exits without reading its stdin must not kill the runtime.
// SIGPIPE is blocked in the calling thread for the call and a SIGPIPE it caused is consumed; errno is EPIPE then.
ssize_t write_no_sigpipe(int fd, const void* data, std::size_t size);

// Describes a waitpid status: "exited with status 3", "killed by signal 11 (Segmentation fault)".
std::string describe_exit(int wait_status);

// The result of running a child to completion with bounded I/O.
struct RunOutput {
  std::string stdout_data;
  std::string stderr_data;  // truncated to the stderr cap
  int wait_status = 0;
  bool timed_out = false;
  bool cancelled = false;
  bool stdout_overflow = false;
};

// Writes `input` to stdin, reads stdout/stderr until both close and the child exits, with caps.
// On deadline, cancel or stdout overflow the whole group is killed. Never blocks past the deadline.
RunOutput run_to_completion(Subprocess& child, const std::string& input, std::size_t max_stdout,
                            std::size_t max_stderr, std::chrono::steady_clock::time_point deadline,
                            const std::atomic<bool>* cancel);

}  // namespace alltools::tools::functions::detail
