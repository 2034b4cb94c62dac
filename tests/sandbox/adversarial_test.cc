// The adversarial suite of ../shared/docs/sandbox.md §5: every case must be contained, the runtime must stay
// healthy, and the next cell (in a new interpreter where the case killed it) must work. Case numbers refer
// to the doc.
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "tests/sandbox/sandbox_test_util.h"

namespace alltools::sandbox::testing {
namespace {

using namespace std::chrono_literals;

class AdversarialTest : public SandboxTest {
 protected:
  // Runs `code` and expects its value (the last expression) to equal `expected`.
  void expect_value(const std::string& code, const std::string& expected) {
    CellResult r = run(code);
    EXPECT_EQ(r.value_repr, expected) << code << "\n" << describe(r);
    EXPECT_FALSE(r.state_lost) << describe(r);
  }
};

// A listening TCP socket on the host; counts connections that reached it.
class HostListener {
 public:
  explicit HostListener(in_addr_t addr) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = addr;
    sa.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof sa;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
  }
  ~HostListener() { close(fd_); }
  int port() const { return port_; }
  bool accepted_any() const {
    const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) close(c);
    return c >= 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string vm_ipv4() {
  ifaddrs* list = nullptr;
  std::string found;
  if (getifaddrs(&list) != 0) return found;
  for (ifaddrs* a = list; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
    if (std::string(buf).rfind("127.", 0) != 0) found = buf;
  }
  freeifaddrs(list);
  return found;
}

// §5.1 (1) TCP to host listeners on loopback and the VM address.
TEST_F(AdversarialTest, TcpEgressToHostListenersIsBlocked) {
  HostListener loopback(htonl(INADDR_LOOPBACK));
  HostListener any(htonl(INADDR_ANY));
  const std::string ip = vm_ipv4();
  std::string code = "import socket\nres = []\nfor host, port in [('127.0.0.1', " + std::to_string(loopback.port()) +
                     "), ('" + (ip.empty() ? "127.0.0.1" : ip) + "', " + std::to_string(any.port()) +
                     ")]:\n"
                     "    try:\n"
                     "        s = socket.create_connection((host, port), timeout=1)\n"
                     "        res.append('CONNECTED')\n"
                     "    except OSError as e:\n"
                     "        res.append(e.errno)\n"
                     "res";
  expect_value(code, "[13, 13]");
  EXPECT_FALSE(loopback.accepted_any());
  EXPECT_FALSE(any.accepted_any());
  expect_healthy();
}

// §5.1 (2)-(4) UDP, DNS, netlink, packet, raw socket syscall, io_uring.
TEST_F(AdversarialTest, UdpDnsNetlinkPacketRawSocketAndIoUringAreDenied) {
  expect_value(
      "import socket, ctypes, errno\n"
      "out = []\n"
      "try:\n"
      "    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 53))\n"
      "    out.append('udp sent')\n"
      "except OSError as e:\n"
      "    out.append(e.errno)\n"
      "try:\n"
      "    socket.getaddrinfo('deb.debian.org', 80)\n"
      "    out.append('resolved')\n"
      "except socket.gaierror:\n"
      "    out.append('gaierror')\n"
      "for fam, typ in [(socket.AF_NETLINK, socket.SOCK_RAW), (socket.AF_PACKET, socket.SOCK_RAW),"
      " (socket.AF_INET6, socket.SOCK_STREAM)]:\n"
      "    try:\n"
      "        socket.socket(fam, typ)\n"
      "        out.append('opened')\n"
      "    except OSError as e:\n"
      "        out.append(e.errno)\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "out.append((libc.syscall(41, 2, 1, 0), ctypes.get_errno()))\n"
      "params = ctypes.create_string_buffer(120)\n"
      "out.append((libc.syscall(425, 8, params), ctypes.get_errno()))\n"
      "out",
      "[13, 'gaierror', 13, 13, 13, (-1, 13), (-1, 1)]");
  expect_healthy();
}

// §5.1 (5) host pathname unix socket (not in the mount namespace) and host abstract socket.
TEST_F(AdversarialTest, HostUnixSocketsAreUnreachable) {
  TempDir sock_dir;
  const std::string path = (sock_dir.path() / "outside.sock").string();
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  chmod(path.c_str(), 0777);
  const int afd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un aa{};
  aa.sun_family = AF_UNIX;
  const std::string abstract_name = "alltools-test-" + std::to_string(getpid());
  std::memcpy(aa.sun_path + 1, abstract_name.data(), abstract_name.size());
  ASSERT_EQ(bind(afd, reinterpret_cast<sockaddr*>(&aa),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size())),
            0);
  ASSERT_EQ(listen(afd, 4), 0);
  expect_value("import socket\nout = []\nfor addr in ['" + path + "', '\\0" + abstract_name +
                   "']:\n"
                   "    s = socket.socket(socket.AF_UNIX)\n"
                   "    try:\n"
                   "        s.connect(addr)\n"
                   "        out.append('CONNECTED')\n"
                   "    except OSError as e:\n"
                   "        out.append(type(e).__name__)\n"
                   "out",
               "['FileNotFoundError', 'ConnectionRefusedError']");
  close(fd);
  close(afd);
}

// §5.2 (6) no programs can be executed.
TEST_F(AdversarialTest, SubprocessAndExecAreDenied) {
  expect_value(
      "import os, subprocess, sys\n"
      "out = []\n"
      "try:\n"
      "    subprocess.run(['/bin/ls'])\n"
      "    out.append('ran')\n"
      "except OSError as e:\n"
      "    out.append(e.errno)\n"
      "out.append(os.system('echo hi'))\n"
      "try:\n"
      "    os.execv(sys.executable, [sys.executable, '-c', 'pass'])\n"
      "except OSError as e:\n"
      "    out.append(e.errno)\n"
      "out",
      "[1, 32512, 1]");
  expect_healthy();
}

// The i386 getpid shellcode the test below runs in the sandbox.
constexpr unsigned char kI386Getpid[] = {0xb8, 0x14, 0, 0, 0, 0xcd, 0x80, 0xc3};

// Runs kI386Getpid in a forked child outside any sandbox. Returns the signal that killed the child, or 0
// when `int 0x80` worked (the kernel has its i386 syscall entry). Kernels built without IA32 emulation, or
// booted with ia32_emulation=0, raise SIGSEGV for `int 0x80`.
int host_i386_probe_signal() {
  const pid_t pid = fork();
  if (pid == 0) {
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) _exit(2);
    std::memcpy(page, kI386Getpid, sizeof kI386Getpid);
    reinterpret_cast<int (*)()>(page)();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

// §5.2 (7) i386 syscalls via int 0x80 bypass nothing: the process is killed (SIGSYS) and restarted. On a
// kernel without the i386 entry the instruction itself faults (SIGSEGV, as it does outside the sandbox), which
// contains it just as well; the test asks the host which of the two to expect.
TEST_F(AdversarialTest, I386SyscallShellcodeIsKilledAndReported) {
  const int host_signal = host_i386_probe_signal();
  ASSERT_TRUE(host_signal == 0 || host_signal == SIGSEGV) << "unexpected host probe signal " << host_signal;
  const char* expected = host_signal == 0 ? "SIGSYS" : "SIGSEGV";
  run("x = 1");
  CellResult r = run(
      "import ctypes, mmap\n"
      "code = bytes([0xb8, 0x14, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax, 20 (getpid); int 0x80; ret\n"
      "m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
      "m.write(code)\n"
      "addr = ctypes.addressof(ctypes.c_char.from_buffer(m))\n"
      "ctypes.CFUNCTYPE(ctypes.c_int)(addr)()");
  EXPECT_TRUE(r.state_lost) << describe(r);
  EXPECT_NE(r.notice.find(expected), std::string::npos) << r.notice;
  EXPECT_NE(run("x").traceback.find("NameError"), std::string::npos);
  expect_healthy();
}

// §5.2 (8) privileged and escape-prone syscalls fail.
TEST_F(AdversarialTest, PrivilegedSyscallsFail) {
  expect_value(
      "import ctypes, os\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "def rc(v):\n"
      "    return 'ok' if v == 0 else ctypes.get_errno()\n"
      "out = {}\n"
      "out['unshare'] = rc(libc.unshare(0x10000000))\n"
      "out['mount'] = rc(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\n"
      "out['chroot'] = rc(libc.chroot(b'/tmp'))\n"
      "out['ptrace'] = rc(libc.ptrace(16, os.getppid(), None, None))\n"
      "out['bpf'] = rc(libc.syscall(321, 0, None, 0))\n"
      "out['userfaultfd'] = rc(libc.syscall(323, 0))\n"
      "out['sethostname'] = rc(libc.sethostname(b'x', 1))\n"
      "out['setuid0'] = rc(libc.setuid(0))\n"
      "out['mknod'] = rc(libc.mknod(b'/tmp/dev', 0o20666, os.makedev(1, 3)))\n"
      "sorted(k for k, v in out.items() if v == 'ok')",
      "[]");
  expect_healthy();
}

// §5.2 (9) host files and the environment are not visible.
TEST_F(AdversarialTest, HostFilesAndSecretsAreNotVisible) {
  setenv("ALLTOOLS_TEST_SECRET", "s3cr3t-token-value", 1);
  session_->restart();
  CellResult r = run(
      "import os\n"
      "out = {}\n"
      "for p in ['/etc/shadow', '/root', '" + std::string(ALLTOOLS_SOURCE_DIR) + "', '/work', '/home']:\n"
      "    out[p] = os.path.exists(p)\n"
      "env = repr(dict(os.environ))\n"
      "for pid in os.listdir('/proc'):\n"
      "    if pid.isdigit():\n"
      "        try:\n"
      "            env += open('/proc/%s/environ' % pid, 'rb').read().decode('latin-1')\n"
      "        except OSError:\n"
      "            pass\n"
      "print(env)\n"
      "sorted(k for k, v in out.items() if v)");
  unsetenv("ALLTOOLS_TEST_SECRET");
  EXPECT_EQ(r.value_repr, "[]") << describe(r);
  EXPECT_EQ(r.stdout_text.find("s3cr3t"), std::string::npos);
  EXPECT_NE(r.stdout_text.find("MPLBACKEND"), std::string::npos);  // the whitelist is what it sees
}

// §5.2 (10) the system is read-only and the root listing is denied (Landlock).
TEST_F(AdversarialTest, WritesOutsideMntDataFail) {
  expect_value(
      "import os\n"
      "out = []\n"
      "for p in ['/usr/x', '/etc/passwd', '/x', '/proc/x']:\n"
      "    try:\n"
      "        open(p, 'w')\n"
      "        out.append('wrote ' + p)\n"
      "    except OSError as e:\n"
      "        out.append(e.errno in (13, 30, 2))\n"
      "try:\n"
      "    os.listdir('/')\n"
      "    out.append('listed')\n"
      "except PermissionError:\n"
      "    out.append('denied')\n"
      "out",
      "[True, True, True, True, 'denied']");
}

// §5.2 (11) signalling outside the sandbox.
TEST_F(AdversarialTest, SignalsToOtherProcessesFail) {
  const std::string host_pid = std::to_string(getpid());
  expect_value(
      "import os, signal\n"
      "out = []\n"
      "for pid in [1, " + host_pid + "]:\n"
      "    try:\n"
      "        os.kill(pid, signal.SIGKILL)\n"
      "        out.append('sent')\n"
      "    except OSError as e:\n"
      "        out.append(type(e).__name__)\n"
      "out",
      "['PermissionError', 'ProcessLookupError']");
  expect_healthy();
}

// §5.2 (12) setuid bit on a file in /mnt/data never yields a setuid-root file on the host.
TEST_F(AdversarialTest, SetuidFileIsNotRootOwnedOnHost) {
  run("import os, shutil\nshutil.copy('/usr/bin/python3', '/mnt/data/suid')\nos.chmod('/mnt/data/suid', 0o4755)");
  struct stat st;
  ASSERT_EQ(lstat((files() / "suid").c_str(), &st), 0);
  EXPECT_NE(st.st_uid, 0u);
  EXPECT_FALSE((st.st_mode & S_ISUID) && st.st_uid == 0);
}

// §5.2 (13) a symlink planted in /mnt/data is refused by host-side reads; (14) hardlinks to system files fail.
TEST_F(AdversarialTest, SymlinkAndHardlinkTricks) {
  expect_value(
      "import os\n"
      "os.symlink('/etc/shadow', '/mnt/data/x')\n"
      "try:\n"
      "    os.link('/usr/bin/python3.11', '/mnt/data/h')\n"
      "    r = 'linked'\n"
      "except OSError as e:\n"
      "    r = e.errno\n"
      "r",
      "18");
  auto read = read_sandbox_file(files(), "x", 1 << 20);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kDenied);
  // A figure name that is a symlink is not reported as an artifact.
  CellResult r = run(
      "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt, os\n"
      "os.symlink('/etc/passwd', '/mnt/data/figure_1.png')\nplt.plot([1])\n'ok'");
  for (const ProducedFile& f : r.files) EXPECT_NE(f.name, "figure_1.png");
}

// §5.2 (15) killing the supervisor leaves no sandbox process behind.
TEST_F(AdversarialTest, KillingTheSupervisorKillsTheSandbox) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t supervisor = fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    close(report[0]);
    auto s = Session::create(test_config(dir_.path() / "other"));
    if (!s.ok() || !(*s)->start().ok()) _exit(1);
    int pid = (*s)->interpreter_pid();
    (void)!write(report[1], &pid, sizeof pid);
    (void)(*s)->run_cell("import time\ntime.sleep(60)");
    _exit(0);
  }
  close(report[1]);
  int interpreter = 0;
  ASSERT_EQ(read(report[0], &interpreter, sizeof interpreter), static_cast<ssize_t>(sizeof interpreter));
  close(report[0]);
  ASSERT_GT(interpreter, 0);
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(kill(interpreter, 0), 0);  // it runs
  kill(supervisor, SIGKILL);
  int status = 0;
  waitpid(supervisor, &status, 0);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::ifstream stat_file("/proc/" + std::to_string(interpreter) + "/stat");
    std::string line;
    std::getline(stat_file, line);
    const auto close_paren = line.rfind(')');
    gone = line.empty() || (close_paren != std::string::npos && line.substr(close_paren + 2, 1) == "Z");
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "interpreter " << interpreter << " survived its supervisor";
}

// §5.2 (16) terminal injection.
TEST_F(AdversarialTest, TiocstiIsRefused) {
  expect_value(
      "import fcntl, termios, os\n"
      "out = []\n"
      "for path in [None, '/dev/tty']:\n"
      "    try:\n"
      "        fd = 0 if path is None else os.open(path, os.O_RDWR)\n"
      "        fcntl.ioctl(fd, termios.TIOCSTI, b'x')\n"
      "        out.append('injected')\n"
      "    except OSError as e:\n"
      "        out.append('refused')\n"
      "out",
      "['refused', 'refused']");
}

// §5.3 (17) memory bomb.
TEST_F(AdversarialTest, MemoryBombIsContained) {
  SandboxConfig c = test_config(files());
  c.limits.memory_bytes = 256ull << 20;
  open_session(c);
  CellResult r = run("a = []\nwhile True:\n    a.append(bytearray(16 << 20))");
  EXPECT_TRUE(r.traceback.find("MemoryError") != std::string::npos || r.state_lost) << describe(r);
  run("a = None");
  expect_healthy();
}

// §5.3 (18) fork bomb: bounded by pids.max / NPROC, and nothing survives the session.
TEST_F(AdversarialTest, ForkBombIsBoundedAndCleanedUp) {
  CellResult r = run(
      "import os, time\n"
      "forked = failed = 0\n"
      "for i in range(500):\n"
      "    try:\n"
      "        pid = os.fork()\n"
      "    except OSError:\n"
      "        failed += 1\n"
      "        continue\n"
      "    if pid == 0:\n"
      "        time.sleep(30)\n"
      "        os._exit(0)\n"
      "    forked += 1\n"
      "(forked < 64, failed > 400)");
  EXPECT_EQ(r.value_repr, "(True, True)") << describe(r);
  const unsigned uid = session_->sandbox_uid();
  const std::filesystem::path pids_dir = session_->cgroup_dir("pids");
  session_.reset();
  if (!pids_dir.empty()) {
    EXPECT_FALSE(std::filesystem::exists(pids_dir));
  }
  if (uid != getuid()) {
    // Processes of the sandbox uid that are alive (not zombies); polled briefly while SIGKILLs land.
    auto survivors = [uid] {
      std::vector<std::string> alive;
      for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        struct stat st;
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos || stat(e.path().c_str(), &st) != 0 ||
            st.st_uid != uid)
          continue;
        std::ifstream sf(e.path() / "stat");
        std::string line;
        std::getline(sf, line);
        const auto p = line.rfind(')');
        if (p != std::string::npos && line.substr(p + 2, 1) != "Z") alive.push_back(line);
      }
      return alive;
    };
    std::vector<std::string> alive = survivors();
    for (int i = 0; i < 100 && !alive.empty(); ++i) {
      std::this_thread::sleep_for(20ms);
      alive = survivors();
    }
    EXPECT_TRUE(alive.empty()) << "processes of sandbox uid " << uid << " survived: " << alive.front();
  }
}

// §5.3 (19) thread bomb.
TEST_F(AdversarialTest, ThreadBombIsBounded) {
  CellResult r = run(
      "import threading, time\n"
      "ev = threading.Event()\n"
      "n = 0\n"
      "try:\n"
      "    for i in range(10000):\n"
      "        threading.Thread(target=ev.wait, daemon=True).start()\n"
      "        n += 1\n"
      "except RuntimeError as e:\n"
      "    err = str(e)\n"
      "ev.set()\n"
      "(n < 10000, err)");
  EXPECT_EQ(r.value_repr, "(True, \"can't start new thread\")") << describe(r);
  expect_healthy();
}

// §5.3 (21) spin that swallows KeyboardInterrupt.
TEST_F(AdversarialTest, SpinCatchingBaseExceptionIsHardKilled) {
  CellResult r = run(
      "n = 0\n"
      "while True:\n"
      "    try:\n"
      "        while True:\n"
      "            n += 1\n"
      "    except BaseException:\n"
      "        pass");
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(r.state_lost) << describe(r);
  expect_healthy();
}

// §5.3 (22) sleep is stopped by the wall clock (RLIMIT_CPU would never fire).
TEST_F(AdversarialTest, SleepHitsTheWallClock) {
  CellResult r = run("import time\ntime.sleep(10**6)");
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(r.interrupted) << describe(r);
  EXPECT_FALSE(r.state_lost);
  expect_healthy();
}

// §5.3 (23) disk: tmpfs size, FSIZE per file, sparse seek; the host disk is untouched.
TEST_F(AdversarialTest, DiskFillIsBounded) {
  expect_value(
      "import os\n"
      "out = []\n"
      "try:\n"
      "    for i in range(1000):\n"
      "        with open('/tmp/fill%d' % i, 'wb') as f:\n"
      "            f.write(b'x' * (4 << 20))\n"
      "except OSError as e:\n"
      "    out.append(e.errno)\n"
      "for name in os.listdir('/tmp'):\n"
      "    if name.startswith('fill'): os.remove('/tmp/' + name)\n"
      "try:\n"
      "    with open('/mnt/data/big', 'wb') as f:\n"
      "        while True:\n"
      "            f.write(b'x' * (1 << 20))\n"
      "except OSError as e:\n"
      "    out.append(e.errno)\n"
      "try:\n"
      "    with open('/mnt/data/sparse', 'wb') as f:\n"
      "        f.seek(1 << 40)\n"
      "        f.write(b'x')\n"
      "except OSError as e:\n"
      "    out.append(e.errno)\n"
      "out.append(os.path.getsize('/mnt/data/big') <= 8 << 20)\n"
      "out",
      "[28, 27, 27, True]");
  // The host disk holds only what /mnt/data kept: the capped file and one block of the sparse file (the /tmp
  // fill lived in the sandbox's tmpfs). Allocated blocks, not st_size, so a sparse file cannot hide.
  std::uint64_t allocated = 0;
  for (const auto& e : std::filesystem::directory_iterator(files())) {
    struct stat st;
    ASSERT_EQ(lstat(e.path().c_str(), &st), 0);
    allocated += static_cast<std::uint64_t>(st.st_blocks) * 512;
  }
  EXPECT_LE(allocated, (8ull << 20) + (1 << 20));
  expect_healthy();
}

// §5.3 (23, continued) many files, each under FSIZE, in /mnt/data: the folder quota stops the cell.
TEST_F(AdversarialTest, FilesQuotaStopsManySmallFiles) {
  SandboxConfig c = test_config(files());
  c.limits.files_quota_bytes = 32ull << 20;
  c.cell_timeout = std::chrono::seconds(20);
  open_session(c);
  CellResult r = run(
      "import os\n"
      "for i in range(100000):\n"
      "    with open('/mnt/data/f%d' % i, 'wb') as f:\n"
      "        f.write(b'x' * (4 << 20))");
  EXPECT_TRUE(r.state_lost) << describe(r);
  EXPECT_NE(r.notice.find("quota"), std::string::npos) << r.notice;
  std::uint64_t used = 0;
  for (const auto& e : std::filesystem::directory_iterator(files())) used += std::filesystem::file_size(e.path());
  EXPECT_LT(used, 1024ull << 20);  // bounded: quota + what one 100 ms poll interval lets through
  // Deleting is allowed and the session works again.
  expect_value("import os\nfor n in os.listdir('/mnt/data'): os.remove('/mnt/data/' + n)\nlen(os.listdir('.'))", "0");
}

// §5.3 (24) descriptor exhaustion.
TEST_F(AdversarialTest, FileDescriptorExhaustionIsBounded) {
  expect_value(
      "import os\n"
      "fds = []\n"
      "errs = set()\n"
      "for i in range(100000):\n"
      "    try:\n"
      "        fds.append(os.open('/dev/null', os.O_RDONLY))\n"
      "    except OSError as e:\n"
      "        errs.add(e.errno)\n"
      "        break\n"
      "n = len(fds)\n"
      "for fd in fds: os.close(fd)\n"
      "fds = []\n"
      "for i in range(100000):\n"
      "    try:\n"
      "        fds.extend(os.pipe())\n"
      "    except OSError as e:\n"
      "        errs.add(e.errno)\n"
      "        break\n"
      "for fd in fds: os.close(fd)\n"
      "(n <= 64, sorted(errs))",
      "(True, [24])");
  expect_healthy();
}

// §5.3 (26) protocol spoofing through stdout and through the protocol fd itself.
TEST_F(AdversarialTest, ProtocolSpoofingIsRejected) {
  expect_value(
      "import os, json, struct\n"
      "os.write(1, b'{\"ok\": true, \"out\": \"SPOOFED RESULT\"}\\n')\n"
      "p = json.dumps({'nonce': '0' * 32, 'value': \"'SPOOFED'\", 'has_value': True}).encode()\n"
      "os.write(4, b'ATF1' + struct.pack('<I', len(p)) + p)\n"
      "'real'",
      "'real'");
  expect_value("1 + 1", "2");  // no desync
  // Garbage on the protocol fd is a violation: the interpreter is replaced, the runtime carries on.
  CellResult r = run("import os\nos.write(4, b'garbage!' * 4)\nimport time\ntime.sleep(1)");
  EXPECT_TRUE(r.state_lost) << describe(r);
  EXPECT_NE(r.notice.find("Protocol violation"), std::string::npos) << r.notice;
  expect_healthy();
}

}  // namespace
}  // namespace alltools::sandbox::testing
