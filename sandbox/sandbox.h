// sandbox: one isolated, stateful Python interpreter per session (the engine behind the `python` tool).
//
// Layers (design and attack list: ../shared/docs/sandbox.md): supervisor fork/exec with rlimits, a dedicated
// non-root uid per concurrent sandbox (when the runtime is root), cgroup memory/pids/cpu limits where the machine
// allows (v1, v2 or hybrid) → bubblewrap (all namespaces, no network, read-only system, size-capped tmpfs, only the
// session's files folder writable as /mnt/data, libseccomp BPF) → `/usr/bin/python3 -I` worker that applies Landlock
// and an execve-deny seccomp filter before it accepts the first cell. Requests and results travel as framed
// messages with a per-request nonce on dedicated fds; fds 1/2 are separate capped pipes.
//
// Thread-safety: a Session is used by one thread at a time. probe_isolation() is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace alltools::sandbox {

// Resource limits of one sandbox. Sizes in bytes.
struct Limits {
  std::uint64_t memory_bytes = 1ull << 30;      // memcg hard wall and RLIMIT_AS
  int max_pids = 128;                           // pids cgroup and RLIMIT_NPROC (dedicated uid)
  double cpus = 1.0;                            // CPU bandwidth (cgroup cpu quota), in cores
  std::chrono::seconds cpu_time_budget{3600};   // RLIMIT_CPU: lifetime budget of one interpreter
  std::uint64_t tmpfs_bytes = 64ull << 20;      // each of /tmp and /dev/shm inside
  std::uint64_t file_size_bytes = 64ull << 20;  // RLIMIT_FSIZE: largest single file
  int max_open_files = 256;                     // RLIMIT_NOFILE
  std::size_t output_cap_bytes = 64 << 10;      // kept per stream (stdout, stderr, value, traceback)
  std::size_t code_cap_bytes = 1 << 20;         // largest cell accepted
  // Disk used by files_dir (allocated blocks, so sparse files count what they really use). Checked every
  // 100 ms while a cell runs: a cell that grows the folder past it is stopped (state lost). 0 = unlimited.
  std::uint64_t files_quota_bytes = 1ull << 30;
};

// One isolation layer as found on this machine / in this sandbox.
struct Layer {
  std::string name;    // "namespaces", "network", "uid", "cgroup-memory", "seccomp", "landlock", ...
  bool active = false;
  bool required = false;  // missing required layers make start() fail unless weaker isolation is allowed
  std::string detail;     // what was found ("bwrap 0.8.0", "v1 memory", "ABI 7") or why it is missing
  friend bool operator==(const Layer&, const Layer&) = default;
};

struct IsolationReport {
  std::vector<Layer> layers;
  // Names of required layers that are not active, comma-separated; empty when all are active.
  std::string missing_required() const;
  // One line per layer: "  [x] seccomp  libseccomp BPF: ...".
  std::string to_string() const;
};

// Host-side checks only (binaries, namespaces, cgroup hierarchy, Landlock ABI, seccomp support); starts nothing.
// Cached after the first call. A started Session reports what the running sandbox actually has.
const IsolationReport& probe_isolation();

struct SandboxConfig {
  std::filesystem::path files_dir;            // host folder seen as /mnt/data; created if missing
  Limits limits;
  std::chrono::milliseconds cell_timeout{60000};
  std::chrono::milliseconds interrupt_grace{1000};  // after SIGINT, before the hard kill
  bool allow_weaker_isolation = false;
  // Copy a machine-wide matplotlib font list (generated once, in a sandbox) into each new interpreter, so the
  // first pyplot import takes ~0.3 s instead of ~1.5 s.
  bool preload_font_cache = true;
  std::filesystem::path python = "/usr/bin/python3";
  std::filesystem::path bwrap = "/usr/bin/bwrap";
};

// A PNG (or other file) a cell produced, relative to files_dir (validated: a regular file, no symlinks).
struct ProducedFile {
  std::string name;  // e.g. "figure_1.png"
  std::string mime;
  friend bool operator==(const ProducedFile&, const ProducedFile&) = default;
};

struct CellResult {
  std::string stdout_text;  // captured fd 1, capped (see *_truncated)
  std::string stderr_text;  // captured fd 2, capped
  std::string value_repr;   // repr of the final expression; empty when none or None
  bool has_value = false;
  std::string traceback;    // trimmed traceback of an exception raised by the cell; empty when none
  std::vector<ProducedFile> files;  // figures saved into files_dir
  std::uint64_t stdout_dropped = 0;  // bytes beyond the cap that were discarded
  std::uint64_t stderr_dropped = 0;
  bool timed_out = false;    // the wall-clock limit was reached
  bool interrupted = false;  // stopped by SIGINT (KeyboardInterrupt), state kept
  bool state_lost = false;   // the interpreter was killed (timeout, crash, OOM) and will be restarted
  std::string notice;        // human/model-readable explanation when timed_out / state_lost
  std::chrono::microseconds elapsed{0};
};

class Session {
 public:
  // Validates the config and prepares the files folder; the interpreter starts on the first run_cell()
  // (or start()). Fails with kUnavailable/kDenied naming the missing layer when isolation is insufficient.
  static Result<std::unique_ptr<Session>> create(const SandboxConfig& config);
  ~Session();  // kills and reaps the whole sandbox, removes its cgroups, releases the uid slot
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Starts the interpreter now if it is not running (cold start). Idempotent.
  Status start();
  // Runs one cell. `cancel` (optional) abandons the cell like a timeout. The cell's wall-clock limit is
  // min(config.cell_timeout, deadline). Returns an error only when the sandbox cannot be (re)started; every
  // failure of the cell itself (exception, timeout, crash) is a CellResult.
  Result<CellResult> run_cell(const std::string& code,
                              std::chrono::steady_clock::time_point deadline =
                                  std::chrono::steady_clock::time_point::max(),
                              const std::atomic<bool>* cancel = nullptr);
  // Kills the interpreter (state lost); the next cell starts a fresh one. Files are kept.
  void restart();

  bool running() const;
  // Layers of the running sandbox (after start()); before that, the host probe.
  const IsolationReport& isolation() const;
  const SandboxConfig& config() const;
  // Host pid of the interpreter (outside the pid namespace), 0 when not running. For tests and diagnostics.
  int interpreter_pid() const;
  // Host uid the sandbox runs as.
  unsigned sandbox_uid() const;
  // Host folder of this sandbox's memory cgroup, empty when none. For tests and diagnostics.
  std::filesystem::path cgroup_dir(const std::string& controller) const;

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a file produced inside the sandbox, relative to files_dir, without following any symlink
// (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). Fails with kDenied for links/escapes, kOutOfRange above max_bytes.
Result<std::string> read_sandbox_file(const std::filesystem::path& files_dir, const std::string& relative,
                                      std::uint64_t max_bytes);

}  // namespace alltools::sandbox
