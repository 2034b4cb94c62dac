// Host-side probe of the isolation layers (sandbox.h: probe_isolation) and the report's formatting.
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "sandbox/detail/seccomp_filter.h"
#include "sandbox/detail/uid_slot.h"
#include "sandbox/sandbox.h"

namespace alltools::sandbox {
namespace {

constexpr const char* kBwrap = "/usr/bin/bwrap";

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

bool writable_v1(const char* controller) {
  const std::string dir = std::string("/sys/fs/cgroup/") + controller;
  return access((dir + "/cgroup.procs").c_str(), F_OK) == 0 &&
         access((dir + "/cgroup.controllers").c_str(), F_OK) != 0 && access(dir.c_str(), W_OK) == 0;
}

bool v2_has(const char* controller, std::string* root) {
  for (const char* r : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    const std::string controllers = first_line((std::string(r) + "/cgroup.controllers").c_str());
    if (access((std::string(r) + "/cgroup.controllers").c_str(), F_OK) != 0) continue;
    *root = r;
    if (controller == nullptr) return access(r, W_OK) == 0;
    std::istringstream in(controllers);
    for (std::string c; in >> c;) {
      if (c == controller) return access(r, W_OK) == 0;
    }
    return false;
  }
  return false;
}

IsolationReport probe_now() {
  IsolationReport report;
  const bool bwrap = access(kBwrap, X_OK) == 0;
  const std::string userns = first_line("/proc/sys/user/max_user_namespaces");
  const bool userns_ok = !userns.empty() && userns != "0";
  std::string ns_detail = bwrap ? std::string("bwrap: user, mount, pid, ipc, uts, cgroup namespaces")
                                : std::string(kBwrap) + " not found (apt-get install bubblewrap)";
  if (bwrap && !userns_ok) ns_detail = "user namespaces disabled (user.max_user_namespaces = " + userns + ")";
  report.layers.push_back(Layer{"namespaces", bwrap && userns_ok, true, ns_detail});
  report.layers.push_back(Layer{"network", bwrap && userns_ok, true,
                                bwrap && userns_ok ? "private network namespace (loopback only)" : ns_detail});
  if (geteuid() == 0) {
    report.layers.push_back(Layer{"uid", true, true,
                                  "dedicated uid " + std::to_string(detail::UidSlot::kBaseUid) +
                                      "+slot per concurrent sandbox"});
  } else {
    report.layers.push_back(Layer{"uid", true, true, "runtime's own non-root uid " + std::to_string(getuid())});
  }
  report.layers.push_back(Layer{"rlimits", true, true, "AS, CPU, FSIZE, NOFILE, NPROC, CORE"});
  bool seccomp_kernel = false;
  {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) seccomp_kernel = seccomp_kernel || line.rfind("Seccomp:", 0) == 0;
  }
  auto bpf = detail::main_filter_bpf();
  std::string seccomp_detail = bpf.ok() ? "libseccomp BPF, " + std::to_string(bpf->size() / 8) + " instructions"
                                        : bpf.error().message;
  report.layers.push_back(Layer{"seccomp", seccomp_kernel && bpf.ok(), true, seccomp_detail});
  report.layers.push_back(Layer{"exec-deny", seccomp_kernel && bpf.ok(), true,
                                "second seccomp filter in the worker: execve/execveat -> EPERM"});
  for (const char* c : {"memory", "pids", "cpu"}) {
    std::string root;
    if (v2_has(c, &root)) {
      report.layers.push_back(Layer{std::string("cgroup-") + c, true, false, "cgroup v2 at " + root});
    } else if (writable_v1(c)) {
      report.layers.push_back(Layer{std::string("cgroup-") + c, true, false, "cgroup v1 /sys/fs/cgroup/" + std::string(c)});
    } else {
      report.layers.push_back(Layer{std::string("cgroup-") + c, false, false, "no writable " + std::string(c) + " controller"});
    }
  }
  std::string v2root;
  const bool v2 = v2_has(nullptr, &v2root);
  report.layers.push_back(Layer{"cgroup-kill", v2, false, v2 ? "cgroup.kill in " + v2root : "no writable cgroup v2"});
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U /*LANDLOCK_CREATE_RULESET_VERSION*/);
  report.layers.push_back(Layer{"landlock", abi > 0, false,
                                abi > 0 ? "ABI " + std::to_string(abi) : "not available in this kernel"});
  return report;
}

}  // namespace

std::string IsolationReport::missing_required() const {
  std::string out;
  for (const Layer& l : layers) {
    if (l.required && !l.active) out += (out.empty() ? "" : ", ") + l.name + " (" + l.detail + ")";
  }
  return out;
}

std::string IsolationReport::to_string() const {
  std::string out;
  for (const Layer& l : layers) {
    out += std::string("  [") + (l.active ? "x" : " ") + "] " + l.name;
    out.append(l.name.size() < 14 ? 14 - l.name.size() : 1, ' ');
    out += l.detail + (l.required ? "" : "  (optional)") + "\n";
  }
  return out;
}

const IsolationReport& probe_isolation() {
  static std::once_flag once;
  static IsolationReport* report = nullptr;
  std::call_once(once, [] { report = new IsolationReport(probe_now()); });
  return *report;
}

}  // namespace alltools::sandbox
