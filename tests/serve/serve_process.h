// `alltools serve` as a child process for the e2e and load tests: started with --port 0, ready once it prints
// "listening on http://HOST:PORT" on stderr; SIGTERM and reaped on destruction. Also reads the child's RSS and
// lists its child processes (sandbox workers), for leak checks.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace alltools::testing {

class ServeProcess {
 public:
  // argv[0] is the alltools binary; "serve --port 0" is added. CHECK-fails if it does not start within 60 s.
  explicit ServeProcess(std::vector<std::string> args);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  long rss_kib() const;                     // VmRSS of the server
  std::vector<pid_t> children() const;     // direct children (of every thread)
  // SIGTERM, wait; the exit status (-1 if killed by a signal).
  int stop();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int stderr_fd_ = -1;
};

// Runs a command to completion; returns its exit code and fills *output with stdout+stderr.
int run_command(const std::vector<std::string>& argv, std::string* output, int timeout_s);

}  // namespace alltools::testing
