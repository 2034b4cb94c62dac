// Runs a command in a pseudo-terminal (forkpty) so the CLI sees a real TTY: tests read its output and type
// answers. The destructor kills and reaps the child.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace alltools::testing {

class PtyProcess {
 public:
  PtyProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
  ~PtyProcess();
  PtyProcess(const PtyProcess&) = delete;
  PtyProcess& operator=(const PtyProcess&) = delete;

  // Reads until `needle` appears in the output after `from` (default: since the last match); false on timeout/EOF.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void type(const std::string& text);
  // Reads to EOF and returns the exit status (-1 on timeout; then the child is killed).
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  const std::string& output() const { return output_; }

 private:
  bool read_some(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int master_ = -1;
  std::string output_;
  std::size_t matched_ = 0;
  bool eof_ = false;
};

}  // namespace alltools::testing
