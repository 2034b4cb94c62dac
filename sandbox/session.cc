// Session (sandbox.h): starts the layered sandbox, runs cells over the framed protocol, enforces the per-cell
// wall clock (SIGINT -> grace -> hard kill) and turns crashes into "state lost" results.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "sandbox/detail/cgroup.h"
#include "sandbox/detail/font_cache.h"
#include "sandbox/detail/frame_codec.h"
#include "sandbox/detail/process_launcher.h"
#include "sandbox/detail/seccomp_filter.h"
#include "sandbox/detail/uid_slot.h"
#include "sandbox/detail/worker_source.h"
#include "sandbox/sandbox.h"

namespace alltools::sandbox {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto kStartTimeout = 20s;           // bwrap + interpreter start-up until the "ready" frame
constexpr auto kExitWait = 2s;                // after EOF, wait this long for the outer process before SIGKILL
constexpr auto kCancelPoll = 50ms;            // how often a running cell checks the cancel flag
constexpr auto kInterruptRepeat = 200ms;      // SIGINT is repeated during the grace period (a first one may
                                              // land before the worker entered the cell)
constexpr std::size_t kStartupStderrCap = 8192;  // bwrap/interpreter diagnostics kept while starting
constexpr std::size_t kReownLimit = 100000;   // entries re-owned when a files folder changes sandbox uid
constexpr int kInsideUid = 1000;              // uid/gid the code sees inside the sandbox
constexpr std::size_t kReadChunk = 64 << 10;
constexpr auto kQuotaPoll = 100ms;              // files_dir usage check period while a cell runs
constexpr std::size_t kQuotaWalkLimit = 200000; // entries walked per check; beyond it the folder counts as full

// Child-side fd numbers (worker.py uses 3, 4 and 6; bwrap reads 7).
constexpr int kChildRequestFd = 3, kChildResponseFd = 4, kChildSourceFd = 5, kChildExecDenyFd = 6,
              kChildSeccompFd = 7, kChildFilesFd = 8, kChildFontCacheFd = 9;

constexpr const char* kBootstrap =
    "import os\n"
    "b=[]\n"
    "while True:\n"
    " c=os.read(5,1<<20)\n"
    " if not c: break\n"
    " b.append(c)\n"
    "os.close(5)\n"
    "exec(compile(b''.join(b),'<alltools-worker>','exec'))\n";

// An owned fd.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Error errno_error(ErrorCode code, const std::string& what) {
  return make_error(code, what + ": " + std::strerror(errno));
}

Result<Fd> memfd_with(const char* name, const std::string& bytes) {
  Fd fd(memfd_create(name, MFD_CLOEXEC));
  if (!fd.valid()) return errno_error(ErrorCode::kIo, "memfd_create");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error(ErrorCode::kIo, "memfd write");
    done += static_cast<std::size_t>(n);
  }
  if (lseek(fd.get(), 0, SEEK_SET) != 0) return errno_error(ErrorCode::kIo, "memfd lseek");
  return fd;
}

// Appends to `text` up to `cap` bytes; counts the rest in `dropped`.
void capture(std::string& text, std::uint64_t& dropped, const char* data, std::size_t n, std::size_t cap) {
  const std::size_t room = text.size() < cap ? cap - text.size() : 0;
  const std::size_t take = std::min(room, n);
  text.append(data, take);
  dropped += n - take;
}

// Reads what is available now from a non-blocking fd. Returns false on EOF or error.
bool drain(int fd, std::string& text, std::uint64_t& dropped, std::size_t cap) {
  char buf[kReadChunk];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      capture(text, dropped, buf, static_cast<std::size_t>(n), cap);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  long child = 0;
  while (in >> child) out.push_back(static_cast<pid_t>(child));
  return out;
}

std::string comm_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

// The interpreter's host pid: bwrap (outer) -> bwrap (pid 1 of the namespace) -> python3. Bounded depth.
pid_t find_interpreter(pid_t outer) {
  std::vector<pid_t> level{outer};
  for (int depth = 0; depth < 4 && !level.empty(); ++depth) {
    std::vector<pid_t> next;
    for (pid_t p : level) {
      for (pid_t c : children_of(p)) {
        if (comm_of(c).rfind("python", 0) == 0) return c;
        next.push_back(c);
      }
    }
    level = std::move(next);
  }
  return 0;
}

std::string signal_reason(int sig) {
  switch (sig) {
    case SIGSYS: return "killed by SIGSYS: a forbidden system call";
    case SIGKILL: return "killed by SIGKILL";
    case SIGSEGV: return "segmentation fault (SIGSEGV)";
    case SIGBUS: return "bus error (SIGBUS)";
    case SIGABRT: return "aborted (SIGABRT)";
    case SIGXCPU: return "CPU time budget exhausted (SIGXCPU)";
    case SIGXFSZ: return "file size limit exceeded (SIGXFSZ)";
    default: return std::string("killed by signal ") + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
}

// Re-owns a files folder (and what a previous sandbox uid left in it) to `uid`, never following links.
void reown_tree(const fs::path& dir, uid_t uid, gid_t gid) {
  std::error_code ec;
  if (lchown(dir.c_str(), uid, gid) != 0) return;
  std::size_t seen = 0;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end && seen < kReownLimit; it.increment(ec), ++seen) {
    (void)!lchown(it->path().c_str(), uid, gid);
  }
}

// Bytes allocated under `dir` (st_blocks, links not followed), plus one block per entry so empty-file floods
// count; UINT64_MAX when the walk exceeds kQuotaWalkLimit entries.
std::uint64_t disk_usage(const fs::path& dir) {
  std::uint64_t total = 0;
  std::size_t seen = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (++seen > kQuotaWalkLimit) return UINT64_MAX;
    struct stat st;
    if (lstat(it->path().c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_blocks) * 512 + 4096;
  }
  return total;
}

// bwrap runs as the sandbox uid and must reach the files folder to bind it. The folder that holds it (the
// session folder) gets search permission for others (x, never r) when the runtime owns it; every folder above
// must already be searchable: the runtime never loosens permissions outside the session (e.g. /root).
Status ensure_reachable(const fs::path& files_dir) {
  const fs::path session = files_dir.parent_path();
  struct stat st;
  if (lstat(session.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH) && st.st_uid == geteuid()) {
    chmod(session.c_str(), (st.st_mode & 07777) | S_IXOTH);
  }
  for (fs::path p = session; !p.empty(); p = p.parent_path()) {
    if (stat(p.c_str(), &st) != 0) return errno_error(ErrorCode::kIo, p.string());
    if (!(st.st_mode & S_IXOTH)) {
      return make_error(ErrorCode::kDenied, "the sandbox uid cannot reach " + files_dir.string() + ": folder " +
                                                p.string() + " is not searchable by others (chmod o+x it, or keep "
                                                "sessions under a searchable folder such as /tmp or /var/lib)");
    }
    if (p == p.root_path()) break;
  }
  return ok_status();
}

// bwrap's command line: every namespace, read-only system, sized tmpfs, the files folder (fd kChildFilesFd) as
// the only writable host folder, the main seccomp filter (fd kChildSeccompFd), then the interpreter.
std::vector<std::string> bwrap_argv(const SandboxConfig& config, const std::string& font_list_name) {
  std::error_code ec;
  const std::string tmpfs = std::to_string(config.limits.tmpfs_bytes);
  std::vector<std::string> argv = {config.bwrap.string(), "--unshare-all", "--unshare-user", "--disable-userns",
                                   "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                                   "--uid", std::to_string(kInsideUid), "--gid", std::to_string(kInsideUid),
                                   "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"};
  for (const char* top : {"bin", "sbin", "lib", "lib32", "lib64"}) {
    const fs::path host = fs::path("/") / top;
    if (fs::is_symlink(host, ec)) {
      argv.insert(argv.end(), {"--symlink", fs::read_symlink(host, ec).string(), host.string()});
    } else if (fs::is_directory(host, ec)) {
      argv.insert(argv.end(), {"--ro-bind", host.string(), host.string()});
    }
  }
  for (const char* etc : {"/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/localtime",
                          "/etc/matplotlibrc", "/etc/fonts", "/etc/mime.types", "/etc/python3",
                          "/etc/python3.11", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d"}) {
    argv.insert(argv.end(), {"--ro-bind-try", etc, etc});
  }
  argv.insert(argv.end(), {"--proc", "/proc", "--dev", "/dev", "--size", tmpfs, "--tmpfs", "/tmp", "--size", tmpfs,
                           "--tmpfs", "/dev/shm", "--dir", "/tmp/matplotlib", "--bind-fd",
                           std::to_string(kChildFilesFd), "/mnt/data", "--chdir", "/mnt/data", "--remount-ro", "/",
                           "--seccomp", std::to_string(kChildSeccompFd)});
  if (!font_list_name.empty()) {
    argv.insert(argv.end(), {"--file", std::to_string(kChildFontCacheFd), "/tmp/matplotlib/" + font_list_name});
  }
  argv.insert(argv.end(), {config.python.string(), "-I", "-S", "-c", kBootstrap});
  return argv;
}

}  // namespace

struct Session::Impl {
  SandboxConfig config;
  detail::UidSlot slot;
  IsolationReport report;
  std::string main_bpf, exec_deny_bpf;

  // The running interpreter (all empty when not running).
  pid_t outer = 0;        // bwrap, our child
  pid_t interpreter = 0;  // python3 inside, host pid
  Fd channel;             // our end of the request/response socketpair
  Fd out, err;            // read ends of the interpreter's fd 1 and 2
  detail::CgroupSet cgroups;
  std::unique_ptr<detail::FrameDecoder> decoder;
  std::uint64_t starts = 0;
  // Weaker mode (allow_weaker_isolation only): no bwrap, so no namespaces; python runs directly with the other
  // layers (uid, cgroups, rlimits, seccomp loaded by the launcher, Landlock, exec-deny), cwd = files_dir.
  bool direct = false;
  std::string direct_reason;
  fs::path private_tmp;  // direct mode: the interpreter's HOME/TMPDIR on the host, removed at teardown

  std::size_t max_frame() const { return config.limits.output_cap_bytes * 8 + (1 << 20); }

  // Waits for the outer process (bounded), returning its wait status; SIGKILLs it when it lingers.
  int reap(Clock::duration wait) {
    if (outer <= 0) return 0;
    int status = 0;
    const auto until = Clock::now() + wait;
    for (;;) {
      const pid_t r = waitpid(outer, &status, WNOHANG);
      if (r == outer || (r < 0 && errno != EINTR)) break;
      if (Clock::now() >= until) {
        ::kill(outer, SIGKILL);
        waitpid(outer, &status, 0);
        break;
      }
      std::this_thread::sleep_for(1ms);
    }
    outer = 0;
    return status;
  }

  // Kills the whole sandbox (SIGKILL to bwrap tears down the pid namespace; cgroup.kill as well) and reaps it.
  int hard_kill() {
    if (outer > 0) {
      ::kill(-outer, SIGKILL);  // its process group (the launcher made it a leader): forks in weaker mode
      ::kill(outer, SIGKILL);
    }
    cgroups.kill();
    const int status = reap(kExitWait);
    teardown();
    return status;
  }

  void teardown() {
    channel.reset();
    out.reset();
    err.reset();
    interpreter = 0;
    decoder.reset();
    cgroups = detail::CgroupSet();
    if (!private_tmp.empty()) {
      std::error_code ec;
      fs::remove_all(private_tmp, ec);
      private_tmp.clear();
    }
  }

  std::string exit_reason(int status) const {
    if (cgroups.oom_killed()) {
      return "out of memory: the " + std::to_string(config.limits.memory_bytes >> 20) + " MiB memory limit was hit";
    }
    if (WIFSIGNALED(status)) return signal_reason(WTERMSIG(status));
    if (WIFEXITED(status)) {
      const int code = WEXITSTATUS(status);
      if (code > 128 && code < 128 + NSIG) return signal_reason(code - 128);  // bwrap reports 128 + signal
      return "the interpreter exited with status " + std::to_string(code);
    }
    return "the interpreter stopped";
  }

  Status send(const nlohmann::json& request) {
    const std::string frame = detail::encode_frame(request);
    std::size_t done = 0;
    while (done < frame.size()) {
      const ssize_t n = ::send(channel.get(), frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{channel.get(), POLLOUT, 0};
        if (poll(&p, 1, 1000) == 0) return make_error(ErrorCode::kTimeout, "the interpreter stopped reading");
        continue;
      }
      if (n <= 0) return errno_error(ErrorCode::kUnavailable, "sending to the interpreter");
      done += static_cast<std::size_t>(n);
    }
    return ok_status();
  }

  Status start() {
    Status s = start_once();
    if (!s.ok() && !direct && config.allow_weaker_isolation && s.error().code == ErrorCode::kUnavailable) {
      direct = true;  // e.g. user namespaces blocked: bwrap cannot set up its uid map
      direct_reason = s.error().message;
      return start_once();
    }
    return s;
  }
  Status start_once();
  void merge_layers(const nlohmann::json& ready);
};

Status Session::Impl::start_once() {
  if (outer > 0) return ok_status();
  const Limits& lim = config.limits;
  std::error_code ec;
  fs::create_directories(config.files_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, config.files_dir.string() + ": " + ec.message());
  struct stat st;
  if (lstat(config.files_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return make_error(ErrorCode::kInvalidArgument, config.files_dir.string() + ": not a directory");
  }
  if (slot.dedicated() && (st.st_uid != slot.uid() || st.st_gid != slot.gid())) {
    reown_tree(config.files_dir, slot.uid(), slot.gid());
  }
  if (slot.dedicated()) ALLTOOLS_RETURN_IF_ERROR(ensure_reachable(config.files_dir));
  chmod(config.files_dir.c_str(), 0755);

  cgroups = detail::CgroupSet::create(
      "s" + std::to_string(getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this) & 0xffffff) +
          "-" + std::to_string(++starts),
      lim);

  int sp[2], out_pipe[2], err_pipe[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) return errno_error(ErrorCode::kIo, "socketpair");
  Fd parent_end(sp[0]), child_end(sp[1]);
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return errno_error(ErrorCode::kIo, "pipe2");
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return errno_error(ErrorCode::kIo, "pipe2");
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  Fd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) return errno_error(ErrorCode::kIo, "/dev/null");
  ALLTOOLS_ASSIGN_OR_RETURN(Fd source_fd, memfd_with("alltools-worker", detail::kWorkerSource));
  ALLTOOLS_ASSIGN_OR_RETURN(Fd exec_deny_fd, memfd_with("alltools-exec-deny", exec_deny_bpf));
  ALLTOOLS_ASSIGN_OR_RETURN(Fd seccomp_fd, memfd_with("alltools-seccomp", main_bpf));
  Fd files_fd(open(config.files_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!files_fd.valid()) return errno_error(ErrorCode::kIo, config.files_dir.string());

  std::optional<detail::FontCache> font_cache;
  if (config.preload_font_cache) font_cache = detail::matplotlib_font_cache(config);
  Fd font_fd;
  if (font_cache) {
    auto fd = memfd_with("alltools-fontlist", font_cache->bytes);
    if (fd.ok()) font_fd = std::move(fd).value();
  }

  detail::SpawnSpec spec;
  const int threads = std::max(1, static_cast<int>(lim.cpus + 0.999));
  spec.env = {"PATH=/usr/bin:/bin", "HOME=/tmp", "USER=sandbox", "LOGNAME=sandbox", "LANG=C.UTF-8",
              "TMPDIR=/tmp", "MPLBACKEND=Agg", "MPLCONFIGDIR=/tmp/matplotlib",
              "OPENBLAS_NUM_THREADS=" + std::to_string(threads), "OMP_NUM_THREADS=" + std::to_string(threads)};
  std::vector<std::string> rw_paths = {"/mnt/data", "/tmp", "/dev/shm", "/dev/null", "/dev/zero", "/dev/full"};
  if (direct) {
    char tmpl[] = "/tmp/alltools-sandbox-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return errno_error(ErrorCode::kIo, "mkdtemp");
    private_tmp = tmpl;
    fs::create_directories(private_tmp / "matplotlib", ec);
    if (font_cache) std::ofstream(private_tmp / "matplotlib" / font_cache->file_name, std::ios::binary) << font_cache->bytes;
    if (slot.dedicated()) reown_tree(private_tmp, slot.uid(), slot.gid());
    spec.argv = {config.python.string(), "-I", "-S", "-c", kBootstrap};
    spec.env[1] = "HOME=" + private_tmp.string();
    spec.env[5] = "TMPDIR=" + private_tmp.string();
    spec.env[7] = "MPLCONFIGDIR=" + (private_tmp / "matplotlib").string();
    spec.cwd = config.files_dir.string();
    spec.seccomp_filter = main_bpf;
    rw_paths = {config.files_dir.string(), private_tmp.string(), "/dev/null", "/dev/zero", "/dev/full"};
  }
  if (!direct) spec.argv = bwrap_argv(config, font_fd.valid() ? font_cache->file_name : std::string());
  spec.fds = {{0, devnull.get()},
              {1, out_w.get()},
              {2, err_w.get()},
              {kChildRequestFd, child_end.get()},
              {kChildResponseFd, child_end.get()},
              {kChildSourceFd, source_fd.get()},
              {kChildExecDenyFd, exec_deny_fd.get()},
              {kChildSeccompFd, seccomp_fd.get()},
              {kChildFilesFd, files_fd.get()}};
  if (font_fd.valid()) spec.fds.push_back({kChildFontCacheFd, font_fd.get()});
  auto limit = [](std::uint64_t v) { return rlimit{static_cast<rlim_t>(v), static_cast<rlim_t>(v)}; };
  spec.rlimits = {{RLIMIT_AS, limit(lim.memory_bytes)},
                  {RLIMIT_CPU, limit(static_cast<std::uint64_t>(lim.cpu_time_budget.count()))},
                  {RLIMIT_FSIZE, limit(lim.file_size_bytes)},
                  {RLIMIT_NOFILE, limit(static_cast<std::uint64_t>(lim.max_open_files))},
                  {RLIMIT_CORE, limit(0)}};
  if (slot.dedicated()) {
    // Per-uid, so only meaningful with a uid of its own (root ignores it anyway).
    spec.rlimits.push_back({RLIMIT_NPROC, limit(static_cast<std::uint64_t>(lim.max_pids))});
    spec.switch_uid = true;
    spec.uid = slot.uid();
    spec.gid = slot.gid();
  }
  for (const fs::path& p : cgroups.procs_files()) spec.cgroup_procs.push_back(p.string());

  auto pid = detail::spawn_process(spec);
  if (!pid.ok()) {
    teardown();
    return pid.error();
  }
  outer = pid.value();
  channel = std::move(parent_end);
  out = std::move(out_r);
  err = std::move(err_r);
  // Only the child's copies remain open: EOF on our ends means the sandbox is gone.
  child_end.reset();
  out_w.reset();
  err_w.reset();
  for (int fd : {channel.get(), out.get(), err.get()}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  decoder = std::make_unique<detail::FrameDecoder>(max_frame());

  const std::string nonce = detail::make_nonce();
  nlohmann::json init = {{"op", "init"},
                         {"nonce", nonce},
                         {"output_cap", lim.output_cap_bytes},
                         {"rw_paths", rw_paths},
                         {"ro_paths", {"/usr", "/etc", "/proc", "/dev"}}};
  auto fail = [&](const std::string& why, std::string diagnostics) {
    hard_kill();
    while (!diagnostics.empty() && (diagnostics.back() == '\n' || diagnostics.back() == ' ')) diagnostics.pop_back();
    return make_error(ErrorCode::kUnavailable,
                      "sandbox failed to start: " + why + (diagnostics.empty() ? "" : ": " + diagnostics));
  };
  std::string diag;
  std::uint64_t diag_dropped = 0;
  if (Status s = send(init); !s.ok()) {
    drain(err.get(), diag, diag_dropped, kStartupStderrCap);
    return fail(s.error().message, diag);
  }
  const auto until = Clock::now() + kStartTimeout;
  std::string out_text;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return fail("no ready message within " + std::to_string(kStartTimeout.count()) + " s", diag);
    pollfd fds[3] = {{channel.get(), POLLIN, 0}, {err.get(), POLLIN, 0}, {out.get(), POLLIN, 0}};
    if (poll(fds, 3, static_cast<int>(left)) < 0 && errno != EINTR) return fail("poll failed", diag);
    drain(err.get(), diag, diag_dropped, kStartupStderrCap);
    drain(out.get(), out_text, diag_dropped, kStartupStderrCap);
    char buf[kReadChunk];
    const ssize_t n = read(channel.get(), buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      // Let bwrap finish its message, then report what it said.
      pollfd e{err.get(), POLLIN, 0};
      poll(&e, 1, 200);
      drain(err.get(), diag, diag_dropped, kStartupStderrCap);
      return fail("the sandbox exited during start-up", diag);
    }
    if (n < 0) continue;
    decoder->append(buf, static_cast<std::size_t>(n));
    auto frame = decoder->next();
    if (!frame.ok()) return fail(frame.error().message, diag);
    if (!frame->has_value()) continue;
    const nlohmann::json& ready = **frame;
    if (ready.value("nonce", "") != nonce || !ready.value("ready", false)) continue;
    merge_layers(ready);
    break;
  }
  interpreter = find_interpreter(outer);
  const std::string missing = report.missing_required();
  if (!missing.empty() && !config.allow_weaker_isolation) {
    hard_kill();
    return make_error(ErrorCode::kDenied, "refusing to run untrusted code: required isolation layer(s) missing: " +
                                              missing + " (set allow_weaker_isolation to accept a weaker sandbox)");
  }
  return ok_status();
}

void Session::Impl::merge_layers(const nlohmann::json& ready) {
  const nlohmann::json status = ready.value("status", nlohmann::json::object());
  const nlohmann::json layers = ready.value("layers", nlohmann::json::object());
  IsolationReport r;
  std::string bwrap_note = "bwrap: user, mount, pid, ipc, uts, cgroup namespaces; read-only /usr; tmpfs /tmp " +
                           std::to_string(config.limits.tmpfs_bytes >> 20) + " MiB; /mnt/data only writable mount";
  if (direct) bwrap_note = "not active (weaker mode): " + direct_reason;
  r.layers.push_back(Layer{"namespaces", !direct, true, bwrap_note});
  const nlohmann::json ifaces = status.value("ifaces", nlohmann::json::array());
  const bool lo_only = ifaces.is_array() && ifaces.size() == 1 && ifaces[0] == "lo";
  r.layers.push_back(Layer{"network", lo_only, true,
                           lo_only ? "private network namespace, interfaces: lo"
                                   : "no network namespace (interfaces: " + ifaces.dump() +
                                         "); only the seccomp socket filter stands"});
  const std::string uid_status = status.value("Uid", "");
  r.layers.push_back(Layer{"uid", slot.uid() != 0, true,
                           (slot.dedicated() ? "dedicated host uid " : "runtime's own uid ") +
                               std::to_string(slot.uid()) + " (inside: " + uid_status.substr(0, uid_status.find('\t')) +
                               ", CapEff " + status.value("CapEff", "?") + ", NoNewPrivs " +
                               status.value("NoNewPrivs", "?") + ")"});
  r.layers.push_back(Layer{"rlimits", true, true,
                           "AS " + std::to_string(config.limits.memory_bytes >> 20) + " MiB, FSIZE " +
                               std::to_string(config.limits.file_size_bytes >> 20) + " MiB, NOFILE " +
                               std::to_string(config.limits.max_open_files) + ", CPU " +
                               std::to_string(config.limits.cpu_time_budget.count()) + " s" +
                               (slot.dedicated() ? ", NPROC " + std::to_string(config.limits.max_pids) : "")});
  const bool seccomp = status.value("Seccomp", "") == "2";
  r.layers.push_back(Layer{"seccomp", seccomp, true,
                           "libseccomp BPF (" + std::to_string(main_bpf.size() / 8) + " instructions), Seccomp " +
                               status.value("Seccomp", "?") + ", filters " + status.value("Seccomp_filters", "?")});
  for (const char* name : {"exec-deny", "landlock"}) {
    const nlohmann::json l = layers.value(name, nlohmann::json::object());
    r.layers.push_back(Layer{name, l.value("active", false), std::string(name) == "exec-deny",
                             l.value("detail", std::string("not reported"))});
  }
  for (const Layer& l : cgroups.layers()) r.layers.push_back(l);
  report = std::move(r);
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Session::~Session() {
  if (impl_) impl_->hard_kill();
}

Result<std::unique_ptr<Session>> Session::create(const SandboxConfig& config) {
  if (config.files_dir.empty() || !config.files_dir.is_absolute()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "sandbox files_dir must be an absolute path (got '" + config.files_dir.string() + "')");
  }
  if (config.cell_timeout <= 0ms || config.limits.output_cap_bytes == 0) {
    return make_error(ErrorCode::kInvalidArgument, "sandbox cell_timeout and output_cap_bytes must be positive");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->report = probe_isolation();
  if (access(config.bwrap.c_str(), X_OK) != 0 && config.allow_weaker_isolation) {
    impl->direct = true;
    impl->direct_reason = config.bwrap.string() + " is not executable";
  } else if (access(config.bwrap.c_str(), X_OK) != 0) {
    return make_error(ErrorCode::kUnavailable, "sandbox layer 'namespaces' missing: " + config.bwrap.string() +
                                                   " is not executable (apt-get install bubblewrap)");
  }
  if (access(config.python.c_str(), X_OK) != 0) {
    return make_error(ErrorCode::kUnavailable, "sandbox interpreter " + config.python.string() + " not found");
  }
  const std::string missing = impl->report.missing_required();
  if (!missing.empty() && !config.allow_weaker_isolation) {
    return make_error(ErrorCode::kDenied,
                      "refusing to run untrusted code: required isolation layer(s) missing: " + missing);
  }
  ALLTOOLS_ASSIGN_OR_RETURN(impl->main_bpf, detail::main_filter_bpf());
  ALLTOOLS_ASSIGN_OR_RETURN(impl->exec_deny_bpf, detail::exec_deny_filter_bpf());
  ALLTOOLS_ASSIGN_OR_RETURN(impl->slot, detail::UidSlot::acquire());
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Status Session::start() { return impl_->start(); }

void Session::restart() { impl_->hard_kill(); }

bool Session::running() const { return impl_->outer > 0; }

const IsolationReport& Session::isolation() const { return impl_->report; }

const SandboxConfig& Session::config() const { return impl_->config; }

int Session::interpreter_pid() const { return impl_->interpreter; }

unsigned Session::sandbox_uid() const { return impl_->slot.uid(); }

fs::path Session::cgroup_dir(const std::string& controller) const { return impl_->cgroups.dir(controller); }

Result<CellResult> Session::run_cell(const std::string& code, Clock::time_point deadline,
                                     const std::atomic<bool>* cancel) {
  Impl& s = *impl_;
  const Limits& lim = s.config.limits;
  if (code.size() > lim.code_cap_bytes) {
    return make_error(ErrorCode::kOutOfRange, "cell of " + std::to_string(code.size()) + " bytes exceeds the " +
                                                  std::to_string(lim.code_cap_bytes) + "-byte limit");
  }
  ALLTOOLS_RETURN_IF_ERROR(s.start());
  const auto started = Clock::now();
  CellResult result;
  const std::size_t cap = lim.output_cap_bytes;
  // Output that arrived between cells (background threads) belongs to this cell's report.
  drain(s.out.get(), result.stdout_text, result.stdout_dropped, cap);
  drain(s.err.get(), result.stderr_text, result.stderr_dropped, cap);

  const auto timeout = s.config.cell_timeout;
  const auto cell_deadline = std::min(deadline, started + timeout);
  const std::string nonce = detail::make_nonce();
  auto secs = [](auto d) {
    std::ostringstream o;
    o << std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0 << " s";
    return o.str();
  };
  auto lose_state = [&](const std::string& why) {
    const int status = s.hard_kill();
    (void)status;
    result.state_lost = true;
    result.notice = why + " The interpreter was restarted: all variables, imports and definitions were lost "
                          "(files in /mnt/data are kept).";
    result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    return result;
  };
  auto crashed = [&]() {
    // Collect the last output, then the exit status.
    drain(s.out.get(), result.stdout_text, result.stdout_dropped, cap);
    drain(s.err.get(), result.stderr_text, result.stderr_dropped, cap);
    const int status = s.reap(kExitWait);
    const std::string reason = s.exit_reason(status);
    return lose_state("The interpreter crashed (" + reason + ").");
  };

  if (Status sent = s.send({{"op", "exec"}, {"nonce", nonce}, {"code", code}}); !sent.ok()) return crashed();

  const std::uint64_t quota = lim.files_quota_bytes;
  const std::uint64_t usage_at_start = quota ? disk_usage(s.config.files_dir) : 0;
  Clock::time_point next_quota_check = started + kQuotaPoll;
  bool interrupted_sent = false;
  Clock::time_point kill_at = Clock::time_point::max();
  Clock::time_point next_interrupt = Clock::time_point::max();
  for (;;) {
    const auto now = Clock::now();
    const bool cancelled = cancel != nullptr && cancel->load(std::memory_order_relaxed);
    if (!interrupted_sent && (now >= cell_deadline || cancelled)) {
      interrupted_sent = true;
      result.timed_out = !cancelled;
      if (s.interpreter > 0) ::kill(s.interpreter, SIGINT);
      kill_at = now + s.config.interrupt_grace;
      next_interrupt = now + kInterruptRepeat;
    } else if (interrupted_sent && now >= next_interrupt) {
      if (s.interpreter > 0) ::kill(s.interpreter, SIGINT);
      next_interrupt = now + kInterruptRepeat;
    }
    if (interrupted_sent && now >= kill_at) {
      return lose_state(cancelled ? std::string("The cell was cancelled and did not stop when interrupted.")
                                  : "The cell exceeded the " + secs(timeout) +
                                        " time limit and did not stop when interrupted.");
    }
    if (quota && now >= next_quota_check) {
      next_quota_check = now + kQuotaPoll;
      const std::uint64_t used = disk_usage(s.config.files_dir);
      if (used > quota && used > usage_at_start) {
        return lose_state("The files in /mnt/data exceeded the " + std::to_string(quota >> 20) +
                          " MiB quota, so the cell was stopped; delete files to free space.");
      }
    }
    const auto wake = interrupted_sent ? kill_at : std::min(cell_deadline, now + kCancelPoll);
    const auto wait_ms = std::max<long>(
        0, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count()) + 1);
    pollfd fds[3] = {{s.channel.get(), POLLIN, 0}, {s.out.get(), POLLIN, 0}, {s.err.get(), POLLIN, 0}};
    const int ready = poll(fds, 3, static_cast<int>(std::min<long>(wait_ms, kCancelPoll.count())));
    if (ready < 0 && errno != EINTR) return crashed();
    drain(s.out.get(), result.stdout_text, result.stdout_dropped, cap);
    drain(s.err.get(), result.stderr_text, result.stderr_dropped, cap);
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[kReadChunk];
    const ssize_t n = read(s.channel.get(), buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return crashed();
    if (n < 0) continue;
    s.decoder->append(buf, static_cast<std::size_t>(n));
    bool done = false;
    for (;;) {
      auto frame = s.decoder->next();
      if (!frame.ok()) return lose_state("Protocol violation from inside the sandbox (" + frame.error().message + ").");
      if (!frame->has_value()) break;
      const nlohmann::json& reply = **frame;
      if (!reply.contains("nonce") || !reply["nonce"].is_string() || reply["nonce"] != nonce) continue;  // spoofed
      const auto str = [&](const char* key) {
        const auto it = reply.find(key);
        return it != reply.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      result.has_value = reply.value("has_value", false);
      result.value_repr = str("value");
      result.traceback = str("traceback");
      result.interrupted = reply.value("interrupted", false);
      if (reply.contains("files") && reply["files"].is_array()) {
        for (const auto& f : reply["files"]) {
          if (!f.is_string()) continue;
          const std::string name = f.get<std::string>();
          if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') continue;
          // Only a regular file reachable without links counts (the cell may have swapped it for a symlink).
          if (!read_sandbox_file(s.config.files_dir, name, lim.file_size_bytes).ok()) continue;
          result.files.push_back(ProducedFile{name, "image/png"});
        }
      }
      done = true;
      break;
    }
    if (done) break;
  }
  // The worker flushed fds 1/2 before answering, so everything it wrote is already in the pipes.
  drain(s.out.get(), result.stdout_text, result.stdout_dropped, cap);
  drain(s.err.get(), result.stderr_text, result.stderr_dropped, cap);
  if (result.timed_out) {
    result.notice = "The cell exceeded the " + secs(timeout) +
                    " time limit and was interrupted (KeyboardInterrupt); the interpreter state is kept.";
  } else if (interrupted_sent) {
    result.notice = "The cell was cancelled (KeyboardInterrupt); the interpreter state is kept.";
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  return result;
}

}  // namespace alltools::sandbox
