// libseccomp filters of the sandbox, exported as raw BPF programs (struct sock_filter[]), ready to be handed
// to bwrap (--seccomp FD) or loaded by the worker itself.
#pragma once

#include <string>

#include "common/result.h"

namespace alltools::sandbox::detail {

// The main filter (loaded by bwrap right before it execs the interpreter): default allow; non-native
// architectures (i386 int 0x80, x32) kill the process; sockets other than AF_UNIX -> EACCES; io_uring,
// ptrace, process_vm_*, bpf, perf_event_open, userfaultfd, keyrings, mount family (old and new API),
// unshare/setns, clone with CLONE_NEW*, kexec/modules, chroot/pivot_root, personality, syslog, acct,
// swap, reboot, clock setting, open_by_handle_at, TIOCSTI/TIOCLINUX -> EPERM; clone3 -> ENOSYS.
Result<std::string> main_filter_bpf();

// The worker's second filter (it loads it after start-up, before the first cell): execve/execveat -> EPERM.
Result<std::string> exec_deny_filter_bpf();

}  // namespace alltools::sandbox::detail
