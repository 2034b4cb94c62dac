#include "sandbox/detail/seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace alltools::sandbox::detail {
namespace {

struct CtxDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

constexpr std::size_t kMaxBpfBytes = 1 << 16;

Error seccomp_error(const char* what, int rc) {
  return make_error(ErrorCode::kInternal,
                    std::string("libseccomp ") + what + " failed: " + std::strerror(rc < 0 ? -rc : rc));
}

// Exports the compiled filter through a memfd (libseccomp writes BPF to an fd) and returns its bytes.
Result<std::string> export_bpf(scmp_filter_ctx ctx) {
  const int fd = memfd_create("alltools-seccomp", MFD_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kIo, std::string("memfd_create: ") + std::strerror(errno));
  std::string out;
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc == 0) {
    const off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || static_cast<std::size_t>(size) > kMaxBpfBytes) {
      rc = -EINVAL;
    } else {
      out.resize(static_cast<std::size_t>(size));
      if (pread(fd, out.data(), out.size(), 0) != size) rc = -EIO;
    }
  }
  close(fd);
  if (rc != 0) return seccomp_error("export_bpf", rc);
  return out;
}

}  // namespace

Result<std::string> main_filter_bpf() {
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return make_error(ErrorCode::kUnavailable, "seccomp_init failed");
  // Other architectures (i386 via int 0x80, x32) would bypass syscall-number rules: kill instead.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) return seccomp_error("attr_set(BADARCH)", rc);

  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
  static const char* const kDenied[] = {
      "io_uring_setup", "io_uring_enter", "io_uring_register", "ptrace", "process_vm_readv",
      "process_vm_writev", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
      "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
      "fsmount", "fspick", "mount_setattr", "unshare", "setns", "kexec_load", "kexec_file_load",
      "init_module", "finit_module", "delete_module", "personality", "syslog", "acct", "swapon",
      "swapoff", "reboot", "open_by_handle_at", "name_to_handle_at", "quotactl", "uselib",
      "lookup_dcookie", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
      "setdomainname", "vhangup", "ioperm", "iopl", "modify_ldt", "fanotify_init", "pidfd_getfd",
      "kcmp"};
  for (const char* name : kDenied) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not a syscall on this architecture
    rc = seccomp_rule_add(ctx.get(), eperm, nr, 0);
    if (rc != 0) return seccomp_error(name, rc);
  }
  // clone3 passes flags in memory, out of reach of BPF: ENOSYS makes glibc fall back to clone.
  rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) return seccomp_error("clone3", rc);
  static const unsigned long kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                                  CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET, CLONE_NEWTIME};
  for (unsigned long flag : kNamespaceFlags) {
    rc = seccomp_rule_add(ctx.get(), eperm, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    if (rc != 0) return seccomp_error("clone(CLONE_NEW*)", rc);
  }
  // Only AF_UNIX sockets: no inet, netlink, packet, vsock... (netns already leaves only lo).
  rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
                        SCMP_A0(SCMP_CMP_NE, AF_UNIX));
  if (rc != 0) return seccomp_error("socket", rc);
  rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socketpair), 1,
                        SCMP_A0(SCMP_CMP_NE, AF_UNIX));
  if (rc != 0) return seccomp_error("socketpair", rc);
  // Terminal injection (CVE-2017-5226 family); compare the full 32 bits the kernel uses.
  for (unsigned long request : {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)}) {
    rc = seccomp_rule_add(ctx.get(), eperm, SCMP_SYS(ioctl), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, request));
    if (rc != 0) return seccomp_error("ioctl", rc);
  }
  return export_bpf(ctx.get());
}

Result<std::string> exec_deny_filter_bpf() {
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return make_error(ErrorCode::kUnavailable, "seccomp_init failed");
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc != 0) return seccomp_error("attr_set(BADARCH)", rc);
  for (int nr : {SCMP_SYS(execve), SCMP_SYS(execveat)}) {
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, 0);
    if (rc != 0) return seccomp_error("execve", rc);
  }
  return export_bpf(ctx.get());
}

}  // namespace alltools::sandbox::detail
