// Per-sandbox cgroups: memory, pids and cpu limits plus a whole-tree kill, on cgroup v1, v2 or hybrid
// (this machine: v1 controllers, v2 only for cgroup.kill). Best effort: what could not be set up is
// reported in `layers()`; the caller decides whether that is acceptable.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "sandbox/sandbox.h"

namespace alltools::sandbox::detail {

class CgroupSet {
 public:
  // Creates cgroups named `name` under an "alltools" parent in each usable hierarchy and applies `limits`.
  // Never fails: missing hierarchies or permissions leave the corresponding layer inactive.
  static CgroupSet create(const std::string& name, const Limits& limits);
  CgroupSet() = default;
  ~CgroupSet();  // kill() then remove the directories (bounded retries)
  CgroupSet(CgroupSet&& other) noexcept;
  CgroupSet& operator=(CgroupSet&& other) noexcept;
  CgroupSet(const CgroupSet&) = delete;
  CgroupSet& operator=(const CgroupSet&) = delete;

  // cgroup.procs files to join: write "0" to each from the child before exec (async-signal-safe).
  const std::vector<std::filesystem::path>& procs_files() const { return procs_files_; }
  // SIGKILLs every process in the sandbox's cgroups (cgroup.kill when available). Bounded.
  void kill() const;
  // Number of processes left in the cgroups (max over hierarchies).
  int process_count() const;
  // True when the memory controller OOM-killed a process in this cgroup.
  bool oom_killed() const;
  // Directory of one controller ("memory", "pids", "cpu", "kill"), empty when not set up.
  std::filesystem::path dir(const std::string& controller) const;
  // Layers: cgroup-memory, cgroup-pids, cgroup-cpu, cgroup-kill.
  std::vector<Layer> layers() const;

 private:
  void release();
  struct Dir {
    std::string controller;  // memory | pids | cpu | kill
    std::filesystem::path path;
    bool v2 = false;
  };
  std::vector<Dir> dirs_;
  std::vector<std::filesystem::path> procs_files_;
  std::vector<Layer> layers_;
};

}  // namespace alltools::sandbox::detail
