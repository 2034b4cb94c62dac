#include "sandbox/detail/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace alltools::sandbox::detail {
namespace fs = std::filesystem;
namespace {

constexpr const char* kRoot = "/sys/fs/cgroup";
constexpr int kKillRounds = 50;         // v1 kill: read procs / SIGKILL rounds
constexpr int kRemoveRetries = 100;     // rmdir retries while exiting tasks leave the cgroup
constexpr auto kRetryPause = std::chrono::milliseconds(5);

bool write_file(const fs::path& path, const std::string& value, std::string* why = nullptr) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (why) *why = path.string() + ": " + std::strerror(errno);
    return false;
  }
  const ssize_t n = write(fd, value.data(), value.size());
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    if (why) *why = path.string() + " <- " + value + ": " + std::strerror(err);
    return false;
  }
  return true;
}

std::string read_small(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<pid_t> read_pids(const fs::path& procs) {
  std::vector<pid_t> pids;
  std::istringstream in(read_small(procs));
  long pid = 0;
  while (in >> pid) pids.push_back(static_cast<pid_t>(pid));
  return pids;
}

bool make_dir(const fs::path& path, std::string* why) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return true;
  *why = "mkdir " + path.string() + ": " + std::strerror(errno);
  return false;
}

// Finds the v1 hierarchy mounted for `controller` (e.g. /sys/fs/cgroup/memory or .../cpu,cpuacct).
fs::path v1_hierarchy(const std::string& controller) {
  const fs::path direct = fs::path(kRoot) / controller;
  if (fs::exists(direct / "cgroup.procs") && !fs::exists(direct / "cgroup.controllers")) return direct;
  return {};
}

// Removes empty sandbox cgroups ("s<pid>-...") left by runtimes that died without cleaning up. Once per process.
void remove_stale(const std::vector<fs::path>& parents) {
  static std::once_flag once;
  std::call_once(once, [&parents] {
    std::error_code ec;
    for (const fs::path& parent : parents) {
      for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() < 2 || name[0] != 's' || !it->is_directory(ec)) continue;
        const long pid = std::strtol(name.c_str() + 1, nullptr, 10);
        if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)) continue;
        rmdir(it->path().c_str());  // fails harmlessly while processes remain
      }
    }
  });
}

}  // namespace

CgroupSet CgroupSet::create(const std::string& name, const Limits& limits) {
  CgroupSet set;
  {
    std::vector<fs::path> parents;
    for (const char* h : {"memory", "pids", "cpu", "unified"}) parents.push_back(fs::path(kRoot) / h / "alltools");
    parents.push_back(fs::path(kRoot) / "alltools");
    remove_stale(parents);
  }
  std::error_code ec;
  const bool pure_v2 = fs::exists(fs::path(kRoot) / "cgroup.controllers", ec);
  const fs::path v2_root = pure_v2 ? fs::path(kRoot) : fs::path(kRoot) / "unified";
  const bool have_v2 = fs::exists(v2_root / "cgroup.controllers", ec);
  const std::string mem = std::to_string(limits.memory_bytes);
  const std::string pids = std::to_string(limits.max_pids);
  const long period = 100000;
  const long quota = std::max(1000L, static_cast<long>(std::lround(limits.cpus * period)));

  std::set<std::string> v2_controllers;
  fs::path v2_dir;
  std::string v2_why;
  if (have_v2) {
    std::istringstream in(read_small(v2_root / "cgroup.controllers"));
    for (std::string c; in >> c;) v2_controllers.insert(c);
    const fs::path parent = v2_root / "alltools";
    if (make_dir(parent, &v2_why)) {
      for (const char* c : {"memory", "pids", "cpu"}) {
        if (!v2_controllers.count(c)) continue;
        write_file(v2_root / "cgroup.subtree_control", std::string("+") + c);
        write_file(parent / "cgroup.subtree_control", std::string("+") + c);
      }
      if (make_dir(parent / name, &v2_why)) v2_dir = parent / name;
    }
  }
  std::set<std::string> enabled_v2;
  if (!v2_dir.empty()) {
    std::istringstream in(read_small(v2_dir / "cgroup.controllers"));
    for (std::string c; in >> c;) enabled_v2.insert(c);
    set.procs_files_.push_back(v2_dir / "cgroup.procs");
  }

  auto setup = [&](const std::string& controller, const std::string& v1_name,
                   const std::vector<std::pair<std::string, std::string>>& v1_settings,
                   const std::vector<std::pair<std::string, std::string>>& v2_settings, const std::string& what) {
    Layer layer{"cgroup-" + controller, false, false, ""};
    std::string why;
    if (enabled_v2.count(controller)) {
      bool ok = true;
      for (const auto& [file, value] : v2_settings) ok = ok && write_file(v2_dir / file, value, &why);
      if (ok) {
        set.dirs_.push_back(Dir{controller, v2_dir, true});
        layer.active = true;
        layer.detail = "cgroup v2 " + what;
      }
    } else if (const fs::path h = v1_hierarchy(v1_name); !h.empty()) {
      const fs::path dir = h / "alltools" / name;
      if (make_dir(h / "alltools", &why) && make_dir(dir, &why)) {
        bool ok = true;
        for (const auto& [file, value] : v1_settings) ok = ok && write_file(dir / file, value, &why);
        set.dirs_.push_back(Dir{controller, dir, false});
        set.procs_files_.push_back(dir / "cgroup.procs");
        layer.active = ok;
        layer.detail = ok ? "cgroup v1 " + what : why;
      }
    } else {
      why = "no " + controller + " controller in " + std::string(kRoot) + (have_v2 ? " (v2 has none)" : "");
    }
    if (!layer.active && layer.detail.empty()) layer.detail = why;
    set.layers_.push_back(layer);
  };
  setup("memory", "memory", {{"memory.limit_in_bytes", mem}}, {{"memory.max", mem}, {"memory.swap.max", "0"}},
        "memory limit " + std::to_string(limits.memory_bytes >> 20) + " MiB");
  setup("pids", "pids", {{"pids.max", pids}}, {{"pids.max", pids}}, "pids.max " + pids);
  setup("cpu", "cpu", {{"cpu.cfs_period_us", std::to_string(period)}, {"cpu.cfs_quota_us", std::to_string(quota)}},
        {{"cpu.max", std::to_string(quota) + " " + std::to_string(period)}},
        "cpu quota " + std::to_string(quota) + "/" + std::to_string(period) + " us");

  Layer kill{"cgroup-kill", false, false, ""};
  if (!v2_dir.empty() && fs::exists(v2_dir / "cgroup.kill", ec)) {
    set.dirs_.push_back(Dir{"kill", v2_dir, true});
    kill.active = true;
    kill.detail = "cgroup v2 cgroup.kill (" + v2_dir.string() + ")";
  } else {
    kill.detail = v2_dir.empty() ? (have_v2 ? v2_why : "no cgroup v2 hierarchy") : "no cgroup.kill";
  }
  set.layers_.push_back(kill);
  if (v2_dir.empty() && !v2_why.empty()) set.layers_.back().detail = v2_why;
  // A v2 directory that nobody uses would still be removed by release().
  if (!v2_dir.empty() && std::none_of(set.dirs_.begin(), set.dirs_.end(), [](const Dir& d) { return d.v2; })) {
    set.dirs_.push_back(Dir{"v2", v2_dir, true});
  }
  return set;
}

CgroupSet::CgroupSet(CgroupSet&& other) noexcept
    : dirs_(std::move(other.dirs_)), procs_files_(std::move(other.procs_files_)), layers_(std::move(other.layers_)) {
  other.dirs_.clear();
  other.procs_files_.clear();
}

CgroupSet& CgroupSet::operator=(CgroupSet&& other) noexcept {
  if (this != &other) {
    release();
    dirs_ = std::move(other.dirs_);
    procs_files_ = std::move(other.procs_files_);
    layers_ = std::move(other.layers_);
    other.dirs_.clear();
    other.procs_files_.clear();
  }
  return *this;
}

CgroupSet::~CgroupSet() { release(); }

void CgroupSet::release() {
  if (dirs_.empty()) return;
  kill();
  std::set<fs::path> unique;
  for (const Dir& d : dirs_) unique.insert(d.path);
  for (const fs::path& p : unique) {
    for (int i = 0; i < kRemoveRetries; ++i) {
      if (rmdir(p.c_str()) == 0 || errno == ENOENT) break;
      std::this_thread::sleep_for(kRetryPause);
    }
  }
  dirs_.clear();
  procs_files_.clear();
}

void CgroupSet::kill() const {
  for (const Dir& d : dirs_) {
    if (d.controller == "kill") {
      write_file(d.path / "cgroup.kill", "1");
    }
  }
  for (int round = 0; round < kKillRounds; ++round) {
    bool any = false;
    for (const Dir& d : dirs_) {
      for (pid_t pid : read_pids(d.path / "cgroup.procs")) {
        any = true;
        ::kill(pid, SIGKILL);
      }
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int CgroupSet::process_count() const {
  std::size_t most = 0;
  for (const Dir& d : dirs_) most = std::max(most, read_pids(d.path / "cgroup.procs").size());
  return static_cast<int>(most);
}

bool CgroupSet::oom_killed() const {
  for (const Dir& d : dirs_) {
    if (d.controller != "memory") continue;
    std::istringstream in(read_small(d.path / (d.v2 ? "memory.events" : "memory.oom_control")));
    std::string key;
    long value = 0;
    while (in >> key >> value) {
      if (key == "oom_kill" && value > 0) return true;
    }
  }
  return false;
}

fs::path CgroupSet::dir(const std::string& controller) const {
  for (const Dir& d : dirs_) {
    if (d.controller == controller) return d.path;
  }
  return {};
}

std::vector<Layer> CgroupSet::layers() const { return layers_; }

}  // namespace alltools::sandbox::detail
