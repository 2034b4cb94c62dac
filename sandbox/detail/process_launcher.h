// fork/exec of the sandbox's outer process with the steps Boost.Process cannot express: new process group,
// PR_SET_PDEATHSIG, reset signal dispositions and mask, joining cgroups, exact fd layout with everything else
// closed, rlimits, dropping groups and switching to the sandbox uid, clean environment.
//
// Forks happen on one long-lived launcher thread: PR_SET_PDEATHSIG fires when the *thread* that forked exits,
// so forking from a caller's short-lived thread would kill the sandbox with it.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace alltools::sandbox::detail {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is the absolute path executed
  std::vector<std::string> env;   // "KEY=value"; nothing else is inherited
  // (child fd, parent fd): the parent's fds are dup'ed onto these numbers; all other fds are closed.
  std::vector<std::pair<int, int>> fds;
  std::vector<std::pair<int, rlimit>> rlimits;  // RLIMIT_* -> soft/hard (lowered only)
  std::vector<std::string> cgroup_procs;       // cgroup.procs files the child joins before exec
  std::string cwd = "/";             // working directory of the new process
  std::string seccomp_filter;        // BPF program loaded (with NO_NEW_PRIVS) right before execve; may be empty
  bool switch_uid = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Starts the process; returns its pid once execve succeeded, or the step that failed in the child.
Result<pid_t> spawn_process(const SpawnSpec& spec);

}  // namespace alltools::sandbox::detail
