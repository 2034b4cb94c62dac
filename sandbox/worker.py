# The sandboxed notebook worker, run as `/usr/bin/python3 -I -c <bootstrap>` inside bubblewrap.
#
# File descriptors (set up by the supervisor): 0 /dev/null, 1 stdout pipe, 2 stderr pipe, 3 requests,
# 4 responses, 6 the execve-deny seccomp BPF program. Frames both ways: b"ATF1" + u32 little-endian length +
# UTF-8 JSON. Every request carries a nonce that the response echoes; cell output goes to fds 1/2 only, so it
# can never be mistaken for a result.
#
# Start-up (trusted, before any cell): read the "init" request, apply Landlock (best effort per ABI) and the
# execve-deny filter, answer "ready" with the layers that are really active. Then one "exec" request per cell.

import ast
import builtins
import ctypes
import io
import json
import linecache
import os
import signal
import struct
import sys
import traceback
import types

# Started with -S (no site: ~40 ms less start-up; .pth hooks of the host do not run inside). Add what site would
# have added for Debian's interpreter, and the quit()/exit()/help() builtins notebooks expect.
_ver = "python%d.%d" % sys.version_info[:2]
for _p in ("/usr/local/lib/%s/dist-packages" % _ver, "/usr/lib/python3/dist-packages",
           "/usr/lib/%s/dist-packages" % _ver):
    if _p not in sys.path and os.path.isdir(_p):
        sys.path.append(_p)
if sys.flags.no_site:
    import site
    site.setquit()
    site.setcopyright()
    site.sethelper()

REQ_FD, RESP_FD, EXEC_DENY_FD = 3, 4, 6
MAGIC = b"ATF1"
MAX_REQUEST_BYTES = 64 << 20
WORKER_FILE = "<alltools-worker>"

# x86_64 syscall numbers and kernel ABI constants.
SYS_SECCOMP = 317
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(*args):
    res = _libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    if res < 0:
        return -ctypes.get_errno()
    return res


def read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, n - got)
        if not b:
            raise EOFError("request channel closed")
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def read_frame():
    head = read_exact(REQ_FD, 8)
    if head[:4] != MAGIC:
        raise EOFError("bad frame magic")
    (n,) = struct.unpack("<I", head[4:])
    if n > MAX_REQUEST_BYTES:
        raise EOFError("request too large")
    return json.loads(read_exact(REQ_FD, n).decode("utf-8"))


def write_frame(obj):
    data = json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace")
    buf = MAGIC + struct.pack("<I", len(data)) + data
    view = memoryview(buf)
    while view:
        n = os.write(RESP_FD, view)
        view = view[n:]


# ---------------------------------------------------------------- isolation applied from inside
def apply_landlock(rw_paths, ro_paths):
    """Best-effort Landlock by ABI. Returns (abi, detail)."""
    abi = _syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi < 0:
        return 0, "landlock unavailable (errno %d)" % -abi
    fs_all = (1 << 13) - 1          # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        fs_all |= 1 << 13           # REFER
    if abi >= 3:
        fs_all |= 1 << 14           # TRUNCATE
    if abi >= 5:
        fs_all |= 1 << 15           # IOCTL_DEV
    net_all = 0b11 if abi >= 4 else 0       # BIND_TCP | CONNECT_TCP: no rules => denied
    scoped = 0b11 if abi >= 6 else 0        # ABSTRACT_UNIX_SOCKET | SIGNAL
    if abi >= 6:
        attr = struct.pack("<QQQ", fs_all, net_all, scoped)
    elif abi >= 4:
        attr = struct.pack("<QQ", fs_all, net_all)
    else:
        attr = struct.pack("<Q", fs_all)
    attr_buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(SYS_LANDLOCK_CREATE_RULESET, attr_buf, len(attr), 0)
    if ruleset < 0:
        return 0, "landlock_create_ruleset failed (errno %d)" % -ruleset
    read = (1 << 2) | (1 << 3)                              # READ_FILE | READ_DIR
    write_all = fs_all & ~((1 << 0) | (1 << 6) | (1 << 11))  # all but EXECUTE, MAKE_CHAR, MAKE_BLOCK
    try:
        for paths, access in ((ro_paths, read), (rw_paths, write_all)):
            for p in paths:
                try:
                    fd = os.open(p, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    is_dir = os.path.isdir(p)
                    acc = access if is_dir else access & ((1 << 1) | (1 << 2) | (1 << 14) | (1 << 15))
                    rule = ctypes.create_string_buffer(struct.pack("<Qi", acc & fs_all, fd), 12)
                    rc = _syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, rule, 0)
                    if rc < 0:
                        return 0, "landlock_add_rule(%s) failed (errno %d)" % (p, -rc)
                finally:
                    os.close(fd)
        rc = _syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0)
        if rc < 0:
            return 0, "landlock_restrict_self failed (errno %d)" % -rc
    finally:
        os.close(ruleset)
    return abi, "ABI %d (fs%s%s)" % (abi, ", tcp" if net_all else "", ", scoped signals/abstract unix" if scoped else "")


def apply_exec_deny():
    try:
        prog = os.read(EXEC_DENY_FD, 1 << 16)
        os.close(EXEC_DENY_FD)
    except OSError as e:
        return False, "no execve-deny program: %s" % e
    if not prog or len(prog) % 8:
        return False, "malformed execve-deny program (%d bytes)" % len(prog)
    filt = ctypes.create_string_buffer(prog, len(prog))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog) // 8, ctypes.cast(filt, ctypes.c_void_p))
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False, "PR_SET_NO_NEW_PRIVS failed"
    rc = _syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(fprog))
    if rc != 0:
        return False, "seccomp(SET_MODE_FILTER) failed (%d)" % rc
    return True, "execve/execveat -> EPERM"


def self_report():
    status = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Seccomp", "Seccomp_filters", "NoNewPrivs", "CapEff", "Uid"):
                    status[k] = v.strip()
    except OSError:
        pass
    try:
        with open("/proc/net/dev") as f:
            ifaces = [l.split(":")[0].strip() for l in f.readlines()[2:]]
    except OSError:
        ifaces = []
    status["ifaces"] = ifaces
    return status


# ---------------------------------------------------------------- notebook semantics
class Worker:
    def __init__(self, cap):
        self.cap = cap
        self.cell = 0
        self.in_cell = False
        mod = types.ModuleType("__main__")
        mod.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = mod
        self.ns = mod.__dict__

    def on_sigint(self, signum, frame):
        if self.in_cell:
            raise KeyboardInterrupt

    def clip(self, text):
        if len(text) > self.cap:
            return text[: self.cap] + "\n... [%d characters omitted]" % (len(text) - self.cap)
        return text

    def format_exception(self, exc, filename=None):
        """The traceback without the worker's own frames (the cell's frames and library frames stay). A cell that
        does not compile (a SyntaxError in the cell itself) shows only Python's own report: the cell's line with
        its caret and the message, as the REPL prints it, not the parser's frames in ast.py."""
        if isinstance(exc, SyntaxError) and filename is not None and exc.filename == filename:
            return self.clip("".join(traceback.format_exception_only(type(exc), exc)))
        te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        seen = 0
        node = te
        while node is not None and seen < 16:  # explicit chaining depth bound
            node.stack = traceback.StackSummary.from_list(
                [f for f in node.stack if f.filename != WORKER_FILE])
            node = node.__cause__ or node.__context__
            seen += 1
        return self.clip("".join(te.format()))

    def save_figures(self):
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None:
            return []
        names = []
        for num in plt.get_fignums():
            fig = plt.figure(num)
            for i in range(1, 100000):
                name = "figure_%d.png" % i
                try:
                    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
                except FileExistsError:
                    continue
                with os.fdopen(fd, "wb") as f:
                    fig.savefig(f, format="png")
                names.append(name)
                break
        plt.close("all")
        return names

    def run(self, code):
        self.cell += 1
        filename = "<cell-%d>" % self.cell
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        value, has_value, tb_text, interrupted, error = None, False, "", False, None
        signal.signal(signal.SIGINT, self.on_sigint)
        try:
            self.in_cell = True
            tree = ast.parse(code, filename, "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, filename, "exec"), self.ns)
            if last is not None:
                result = eval(compile(last, filename, "eval"), self.ns)
                if result is not None:
                    builtins._ = result
                    value, has_value = self.clip(repr(result)), True
        except BaseException as e:  # SystemExit included: the interpreter keeps running
            self.in_cell = False
            error = e
        finally:
            self.in_cell = False
        if error is not None:
            interrupted = isinstance(error, KeyboardInterrupt)
            tb_text = self.format_exception(error, filename)
        files = []
        try:
            files = self.save_figures()
        except Exception as e:
            tb_text += "\n[saving figures failed: %s]" % self.clip(repr(e))
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        return {"value": value, "has_value": has_value, "traceback": tb_text, "files": files,
                "interrupted": interrupted}


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Line-buffered streams keep print() and raw os.write(1, ...) output in order.
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True, errors="backslashreplace")
    init = read_frame()
    cap = int(init.get("output_cap", 65536))
    layers = {}
    abi, detail = apply_landlock(init.get("rw_paths", []), init.get("ro_paths", []))
    layers["landlock"] = {"active": abi > 0, "detail": detail}
    ok, detail = apply_exec_deny()
    layers["exec-deny"] = {"active": ok, "detail": detail}
    write_frame({"nonce": init["nonce"], "ready": True, "layers": layers, "status": self_report()})
    worker = Worker(cap)
    while True:
        try:
            req = read_frame()
        except KeyboardInterrupt:
            continue
        except (EOFError, OSError, ValueError):
            return
        op = req.get("op")
        if op == "exec":
            try:
                reply = worker.run(req.get("code", ""))
            except KeyboardInterrupt:
                reply = {"value": None, "has_value": False, "traceback": "KeyboardInterrupt\n",
                         "files": [], "interrupted": True}
            reply["nonce"] = req.get("nonce")
            write_frame(reply)
        elif op == "exit":
            return


main()
