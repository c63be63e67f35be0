"""The zygote: a warm, single-threaded interpreter that forks one hardened child per job.

Started by the supervisor (`sandbox.embedded`) as::

    python -I -S -B _zygote.py <socket_fd> <config_json>

and never imported by it. Stdlib only (plus the sibling `canonical.py`).

Protocol (SOCK_SEQPACKET, one message each way per exchange):

    hello     zygote -> JSON {"ready": true, "pid": int, "level": str, "magic": bytecode magic (hex),
              "hard": [hard limits of the job line's rlimits, -1 = unlimited]}
    setup     supervisor -> b"fds" + 5 memfds: job, stdin, stdout, stderr, channel; the zygote moves them
              to fds 4, 0, 1, 2, 3 and keeps them for its whole life; reply b"ok"
    job       supervisor -> ASCII b"<mode> <compiled 0|1> <wall_s> <cpu_s> <as_bytes> <fsize> <nofile>
              <nproc> <stack>" (-1: leave that limit; + the binary's descriptor for mode native)
    reply     b"ok <exit|-> <signal|-> <cpu_s> <wall_s> <rss_kb> <wall_timeout 0|1> <supervisor_gone 0|1>",
              or b"infra <why>" / b"error <why>"

Before each job the supervisor writes the job memfd (8-byte little-endian length of the program, the
program, then the payload: JSON or empty; the program is UTF-8 source, or with ``compiled`` 1 the
`marshal` of the code object the supervisor compiled) and stdin, and empties stdout, stderr and the
channel. The zygote NEVER reads them: only the child does. So the zygote's memory (which every child
inherits) holds no code, input or output of any job: a child cannot find another job's data (a
neighbour's output, a checker's expected values) in its own address space, and the memfds themselves
hold only the current job once the supervisor has rewritten and truncated them. (At start, before its
first fork, the zygote runs two fixed trivial jobs of its own through the harness, on private pipes,
`rehearse`: its children then find the harness's lookups cached and its bytecode specialized, pages
they only read instead of copying.)

A child is forked AHEAD of its job (`spawn`) and prepares everything that does not depend on the job's
contents: new session; the memfds stay on fds 0-4 (a native job's binary moves to 4), the go pipe to 5,
every other fd closed (the zygote's socket included); the job's rlimits (AS, CPU, FSIZE, NOFILE, NPROC,
CORE=0; the zygote prepares for the limits of the last job, and a job with other limits gets a fresh
child); drop to the slot's uid/gid (when root); SIGKILL if the zygote dies; chdir to the empty scratch;
the child seccomp layer on top of the zygote's base layer (no_new_privs, the base layer and
non-dumpability were set once in the zygote and are inherited). It then blocks reading its go (the job
line), closes the pipe, reads its job and runs the harness for its mode. A child that dies before it
read its go is an infrastructure failure (the zygote sees the go still unread in the pipe), never a
verdict. Only Python jobs use a child forked ahead; native and compile jobs need another seccomp layer
(and a native job its binary), so the waiting child is dropped and one is forked for them.

As root, each slot has TWO uids that take turns: the child for the next job is forked and prepared, as
the other uid, WHILE the current job runs, so a job starts without paying for its fork and set-up. The
running child can neither signal the waiting one nor read or write its memory (other uid, not
dumpable), and neither counts against the other's RLIMIT_NPROC; a child is forked only once the last
child of its uid is reaped. Without root there is one uid (ours), and a child is forked only after the
previous one is reaped.

A harness that finished with status 0 does not exit: it stops itself with SIGSTOP. Once the group
stop is complete (no thread of it runs, so its output is final) the zygote answers with the process's
CPU clock and peak RSS, and only then kills and reaps it: the reply does not wait for the kernel to
tear the address space down. A program that stops itself gains nothing over ``os._exit(0)``; any other
stop signal, exit or death takes the ordinary path (wait4 and rusage). The zygote forks through glibc's
fork(2), not `os.fork` (see `_fork`).

Two implementations of the job loop, one protocol: when `_zygote_fast` (built from `_zygote_fast.c` at
install) is there, Python jobs run in its C loop (`Zygote.serve_fast`): the same set-up in the same
order, the same replies, but without the copy-on-write faults a Python loop causes in the zygote and in
each child's set-up (about 100 and 90 pages per job). It hands every other job back to `Zygote.handle`
here. Without the module (or with ``fast`` off in the config) this file runs every job itself.

Native modes (C++). ``compile``: the job is the source plus a JSON payload with the compiler's argv; the
child (seccomp layer "compile": it may fork and exec) writes the source to its scratch, runs the
compiler there with stdout/stderr on the job's memfds, and copies the binary to the result channel.
``native``: the job descriptor is the cached binary, opened read-only by the supervisor; the child
(layer "native") marks the channel close-on-exec and execs that descriptor with
``execveat(fd, "", AT_EMPTY_PATH)``. If exec fails it writes ``{"exec_failed": ...}`` to the channel,
which the exec'd program itself can never reach.

At level "full" the zygote first enters new pid/net/mount/ipc/uts namespaces (as pid 1 of its pid
namespace: if it dies, the kernel kills every child) and pivots into a minimal read-only root: /usr and
the /lib*, /bin, /sbin links, /etc, the interpreter's prefix, four /dev nodes, a /proc that hides
other uids' processes, and a small tmpfs /tmp owned by the slot uid.
"""

# ruff: noqa: E402
from __future__ import annotations

import _socket
import builtins
import ctypes
import errno
import fcntl
import gc
import json
import marshal
import os
import resource
import select
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canonical  # noqa: I001  (sibling module, loaded before the lockdown)

TYPE_CHECKING = False  # (mypy reads it as True; nothing is imported for it at run time)
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

_zygote_fast: ModuleType | None = None
try:  # the job loop for Python jobs in C, built from _zygote_fast.c at install when a compiler was there
    import _zygote_fast as _built

    _zygote_fast = _built
except ImportError:
    pass
del sys.path[0]
FAST_ABI = 1  # the `ABI` of _zygote_fast.c this file works with; another build is not used

# Modules solutions commonly import, loaded once here so children do not pay for them (and can use
# them even when the interpreter's files are unreadable for the slot uid, at level "seccomp").
PRELOAD = (
    "abc array bisect builtins calendar cmath collections collections.abc contextlib copy dataclasses "
    "datetime decimal enum fractions functools hashlib heapq io itertools json math numbers operator "
    "queue random re statistics string struct sys textwrap threading time traceback typing unicodedata"
).split()

EXIT_SYNTAX = 90
EXIT_MEMORY = 91
EXIT_OUTPUT = 92
EXIT_ENCODE = 93

_libc = ctypes.CDLL(None, use_errno=True)
# fork(2) through glibc with the GIL held (PyDLL), not `os.fork`: the zygote is single-threaded, so
# CPython's after-fork work (re-making the GIL and locks, the `threading` and `random` at-fork hooks)
# has nothing to repair, and skipping it spares each child ~100 copy-on-write page faults. (The
# children therefore share the zygote's `random` state: runs are reproducible.)
_fork = ctypes.PyDLL(None, use_errno=True).fork
_fork.restype = ctypes.c_int
_fork.argtypes = ()
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong)
_prctl = _libc.prctl

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 4, 38, 22
SECCOMP_MODE_FILTER = 2
SYS_PIVOT_ROOT = 155  # x86_64
SYS_MOUNT_SETATTR = 442
SYS_EXECVEAT = 322  # x86_64
AT_EMPTY_PATH = 0x1000
NATIVE_FD = 4


def _ok(rc: int, what: str) -> None:
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def _mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()

    _ok(_libc.mount(enc(src), enc(dst), enc(fstype), flags, enc(data)), f"mount {src} on {dst}")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# --------------------------------------------------------------------------------------------------
# start-up


def enter_namespaces_and_root(cfg: dict[str, Any]) -> None:
    """Level "full": new namespaces, pid 1 of the new pid namespace, minimal read-only root."""
    _ok(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID), "unshare")
    pid = os.fork()
    if pid:  # the outer process only waits; the socket belongs to the inner one
        os.close(cfg["sock_fd"])
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, None, 0, 0)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    new = "/tmp"  # mounting over /tmp in our own mount namespace does not touch the host's /tmp
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    binds: list[str] = []
    for name in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc"):
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), new + host)
        elif os.path.isdir(host):
            binds.append(host)
    prefix = os.path.realpath(cfg["prefix"])
    if not any(prefix == b or prefix.startswith(b + "/") for b in ("/usr", "/lib", "/lib64", "/bin")):
        binds.append(prefix)
    binds += [p for p in cfg.get("ro_binds", ()) if os.path.isdir(p)]  # e.g. the C++ precompiled header
    for host in binds:
        os.makedirs(new + host, exist_ok=True)
        _mount(host, new + host, None, MS_BIND | MS_REC)
    os.mkdir(new + "/dev")
    for node in ("null", "zero", "urandom", "random"):
        open(new + "/dev/" + node, "w").close()
        _mount("/dev/" + node, new + "/dev/" + node, None, MS_BIND)
    for d in ("/proc", "/tmp", "/.old"):
        os.mkdir(new + d)
    _ok(_libc.syscall(SYS_PIVOT_ROOT, new.encode(), (new + "/.old").encode()), "pivot_root")
    os.chdir("/")
    _ok(_libc.umount2(b"/.old", MNT_DETACH), "umount old root")
    os.rmdir("/.old")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
    # read-only, nosuid, nodev for the whole tree (recursive); fall back to one remount per mount
    attr = (ctypes.c_uint64 * 4)(MS_RDONLY | 2 | 4, 0, 0, 0)  # MOUNT_ATTR_RDONLY|NOSUID|NODEV
    rc = _libc.syscall(SYS_MOUNT_SETATTR, -100, b"/", 0x8000, ctypes.byref(attr), ctypes.sizeof(attr))
    if rc != 0:
        for host in binds:
            _mount(None, host, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _libc.sethostname(b"sandbox", 7)
    owner, mode = _scratch_owner(cfg)
    _mount(
        "tmpfs",
        "/tmp",
        "tmpfs",
        MS_NOSUID | MS_NODEV,
        f"size={cfg['scratch_mb']}m,nr_inodes=1024,mode={mode:o},uid={owner},gid={cfg['gid']}",
    )


def _scratch_owner(cfg: dict[str, Any]) -> tuple[int, int]:
    """Owner and mode of the scratch directory: the slot uid's own (0700), or, with two uids taking
    turns, root's with their shared group (0770)."""
    if len(cfg["uids"]) == 1:
        return cfg["uids"][0], 0o700
    return 0, 0o770


def make_scratch(cfg: dict[str, Any]) -> str:
    if cfg["level"] == "full":
        return "/tmp"
    if cfg.get("scratch"):  # prepared by the caller: the Docker backend's tmpfs /tmp, owned by the slot uid
        return str(cfg["scratch"])
    import tempfile

    path = tempfile.mkdtemp(prefix="r1-sandbox-")
    mode = 0o700
    if cfg["uids"][0] is not None:
        owner, mode = _scratch_owner(cfg)
        os.chown(path, owner, cfg["gid"])
    os.chmod(path, mode)
    return path


def wipe(path: str) -> None:
    """Remove everything a child left in the scratch directory (the directory itself stays)."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                wipe(entry.path)
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


# --------------------------------------------------------------------------------------------------
# child side


GO_FD = 5
_RLIMITS = (  # the job request's numeric fields, in order, from field 3 on
    resource.RLIMIT_CPU,
    resource.RLIMIT_AS,
    resource.RLIMIT_FSIZE,
    resource.RLIMIT_NOFILE,
    resource.RLIMIT_NPROC,
    resource.RLIMIT_STACK,
)
PYTHON_MODES = frozenset((b"script", b"call", b"check"))


def prepare(
    policy: str,
    go_r: int,
    native_fd: int,
    uid: int | None,
    limits: bytes,
    cfg: dict[str, Any],
    scratch: str,
    zygote_pid: int,
) -> None:
    """Child, before its job arrives: everything but reading and running the job (see the docstring).
    `limits` holds the rlimits of the job line (from its 4th field): the zygote gives a job only to a
    child prepared with that job's limits."""
    os.setsid()
    signal.pthread_sigmask(signal.SIG_SETMASK, ())  # the zygote blocks SIGCHLD; children start clean
    if native_fd >= 0:
        os.dup2(native_fd, NATIVE_FD)
    if go_r != GO_FD:
        os.dup2(go_r, GO_FD)
    os.closerange(GO_FD + 1, 1 << 20)
    for res, value in zip(_RLIMITS, limits.split()):
        n = int(value)
        if n >= 0:
            resource.setrlimit(res, (n, n + 1 if res == resource.RLIMIT_CPU else n))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if uid is not None:
        os.setgroups(())
        os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
        os.setresuid(uid, uid, uid)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, None, 0, 0)  # after setresuid, which clears it
    if os.getppid() != zygote_pid:
        os._exit(125)
    os.chdir(scratch)  # the environment was cleared once, in the zygote (see main)
    prog = cfg["bpf_refs"].get(policy)
    if prog is not None:
        _ok(_prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0), "seccomp")


def run_child(go: bytes, cfg: dict[str, Any]) -> None:
    """A prepared child whose go (the job line) arrived: read the job, run the harness, stop or exit.
    Never returns."""
    status = 1
    try:
        req = go.split(None, 2)
        mode = req[0]
        os.close(GO_FD)
        if mode == b"native":
            exec_native(cfg)
        status = run_job(mode, req[1] == b"1", 4)
        if status == 0 and mode in PYTHON_MODES:
            # finished cleanly, output flushed: stop instead of exiting, so the zygote answers before the
            # kernel tears this address space down (it kills and reaps us afterwards)
            signal_self(signal.SIGSTOP)
    except BaseException:  # noqa: BLE001  (the harness failing is the child's failure; report and exit)
        try:
            traceback.print_exc()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(status)


def run_job(mode: bytes, compiled: bool, fd: int) -> int:
    """Read the job from memfd `fd` (the program's length as 8 bytes little-endian, the program, the
    payload), close it so the program never sees it, and run the harness; the exit status."""
    data = os.pread(fd, os.fstat(fd).st_size, 0)
    os.close(fd)
    n = int.from_bytes(data[:8], "little")
    return run_harness(mode.decode(), compiled, data[8 : 8 + n], data[8 + n :])


def signal_self(sig: int) -> None:
    os.kill(os.getpid(), sig)


# Rehearsals of each kind: CPython 3.11 rewrites ("quickens") a function's bytecode into its specialized
# form after about 8 calls and keeps counting until then; a child running the harness for the first
# time writes those counters (copies of code-object pages). Measured: 10 runs each 186, 1 run 192 page
# faults per child.
REHEARSALS = 10


def rehearse() -> None:
    """Run a trivial script job and a trivial call job `REHEARSALS` times each in the zygote itself,
    through the child's own code (`run_job`, `run_harness`, `signal_self` with signal 0), on private
    pipes for stdio and the channel, before the first fork.

    A name lookup that misses CPython's type cache writes the cache entry and the name's refcount, and
    unquickened bytecode writes its counters; in a child each such write copies a page of the zygote.
    Done here first, children only read those pages: 10-15 fewer page faults per child (186-192 instead
    of 199-203) and ~4% less CPU per execution (A/B in one process on the benchmark VM). Raises when a
    rehearsal does not give its expected output, so a broken harness fails the zygote's start, not every
    job.
    """
    import io

    def wrap(fd: int, mode: str) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        return io.TextIOWrapper(io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw))

    def drain(fd: int) -> bytes:
        try:
            return os.read(fd, 1 << 16)
        except BlockingIOError:
            return b""

    saved_stdio = sys.stdin, sys.stdout, sys.stderr
    saved_channel = os.dup(3)
    pipes = [os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK) for _ in range(4)]  # stdin, stdout, stderr, channel
    call = {
        "entry_point": "f",
        "args": canonical.encode_value([20, 22]),
        "kwargs": canonical.encode_value({}),
    }
    rehearsals = (
        (b"script", "print(int(input()) + 1)\n", b"", b"41\n", 1, b"42\n"),
        (b"call", "def f(a, b):\n    return [a + b]\n", json.dumps(call).encode(), b"", 3, b"[42]"),
    )
    try:
        os.dup2(pipes[3][1], 3)
        sys.stdin, sys.stdout, sys.stderr = (
            wrap(pipes[0][0], "r"),
            wrap(pipes[1][1], "w"),
            wrap(pipes[2][1], "w"),
        )
        for mode, source, payload, stdin, where, want in rehearsals * REHEARSALS:
            program = marshal.dumps(compile(source, "<solution>", "exec", dont_inherit=True))
            os.write(pipes[0][1], stdin)
            job = os.memfd_create("rehearsal", os.MFD_CLOEXEC)
            os.write(job, len(program).to_bytes(8, "little") + program + payload)
            status = run_job(mode, True, job)
            if status == 0:
                signal_self(0)
            got = drain(pipes[where][0])
            if status != 0 or got != want:
                raise RuntimeError(
                    f"zygote: the {mode.decode()} rehearsal gave {got!r} with status {status}, expected "
                    f"{want!r} with 0: the harness cannot run a trivial job on this interpreter "
                    f"({sys.version.split()[0]}); stderr: {drain(pipes[2][0])[-2000:]!r}"
                )
    finally:
        for stream in (sys.stdin, sys.stdout, sys.stderr):
            stream.close()
        sys.stdin, sys.stdout, sys.stderr = saved_stdio
        os.dup2(saved_channel, 3)
        os.close(saved_channel)
        for r, w in pipes:
            os.close(r)
            os.close(w)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def exec_native(cfg: dict[str, Any]) -> None:
    """Replace this child with the binary on `NATIVE_FD`; on failure say why on the channel and exit."""
    os.set_inheritable(3, False)  # the channel is ours: the program must not be able to write it
    os.set_inheritable(NATIVE_FD, False)
    _libc.syscall(
        ctypes.c_long(SYS_EXECVEAT),
        ctypes.c_long(NATIVE_FD),
        b"",
        cfg["exec_argv"],
        cfg["exec_envp"],
        ctypes.c_long(AT_EMPTY_PATH),
    )
    err = ctypes.get_errno()
    _write_all(3, json.dumps({"exec_failed": f"execveat: {os.strerror(err)}"}).encode())
    os._exit(127)


def run_compile(source: str, payload: dict[str, Any]) -> int:
    """Compile `source` in the scratch directory with ``payload["argv"]``; the binary goes to the channel.

    Exit status: 0 with the binary on the channel, else 1 (the compiler's messages are on stderr).
    """
    with open(payload["source_name"], "wb") as fh:
        fh.write(source.encode("utf-8", "surrogatepass"))
    os.set_inheritable(3, False)  # the compiler works on untrusted input: keep it off the channel
    pid = os.posix_spawn(payload["argv"][0], payload["argv"], payload["env"])
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        sys.stderr.write(
            f"\ncompiler killed by signal {sig} ({signal.Signals(sig).name}): a compile limit was hit\n"
        )
        return 1
    if os.WEXITSTATUS(status) != 0:
        return 1
    with open(payload["output_name"], "rb") as fh:
        while chunk := fh.read(1 << 20):
            _write_all(3, chunk)
    return 0


def run_harness(mode: str, compiled: bool, program: bytes, raw_payload: bytes) -> int:
    """Run the job in this child; the exit status (see the EXIT_* codes)."""
    payload = json.loads(raw_payload) if raw_payload else {}
    status = 0
    try:
        if mode == "check":
            return run_check(program.decode("utf-8", "surrogatepass"), payload)
        if mode == "compile":
            return run_compile(program.decode("utf-8", "surrogatepass"), payload)
        try:  # the supervisor compiled it (same interpreter), or we do; no __future__ of ours leaks in
            if compiled:
                code = marshal.loads(program)
            else:
                code = compile(
                    program.decode("utf-8", "surrogatepass"), "<solution>", "exec", dont_inherit=True
                )
        except (SyntaxError, ValueError) as exc:
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
            return EXIT_SYNTAX
        glb = {"__name__": "__main__" if mode == "script" else "solution", "__builtins__": builtins}
        exec(code, glb)
        if mode == "call":
            fn = glb.get(payload["entry_point"])
            if not callable(fn):
                sys.stderr.write(f"NameError: the program defines no function {payload['entry_point']!r}\n")
                return 1
            value = fn(*canonical.decode_value(payload["args"]), **canonical.decode_value(payload["kwargs"]))
            try:
                text = canonical.encode(value)
            except (canonical.EncodeError, ValueError, RecursionError) as exc:
                sys.stderr.write(f"EncodeError: {exc}\n")
                return EXIT_ENCODE
            _write_all(3, text.encode())
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if not isinstance(code, (int, type(None))):
            sys.stderr.write(f"{code}\n")
    except MemoryError:
        status = EXIT_MEMORY
    except BaseException:  # noqa: BLE001  (user code raised: a runtime error)
        traceback.print_exc()
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError as exc:
            if exc.errno == errno.EFBIG:
                status = EXIT_OUTPUT
        except BaseException:  # noqa: BLE001
            status = status or 1
    return status & 0xFF


class _NeedAnswer(BaseException):
    """Raised through the test code when the checker needs the candidate's answer to a new call."""


class CandidateError(Exception):
    """The candidate raised (or its result could not be encoded) on this call."""


def run_check(test: str, payload: dict[str, Any]) -> int:
    """TRUSTED checker: run assert-style test code against the candidate's recorded answers.

    ``candidate(*args)`` returns the i-th recorded answer (a decoded plain value) if its arguments match
    the recorded ones; on the first call without an answer it writes ``{"need": i, "args": ...}`` and stops,
    so the supervisor can run that call in a candidate child and start this checker again with one more
    answer. The test's randomness is seeded, so each replay makes the same calls.
    """
    import random

    random.seed(payload.get("seed", 0))
    answers = payload["answers"]
    counter = [0]

    def candidate(*args: object, **kwargs: object) -> object:
        i = counter[0]
        counter[0] += 1
        try:
            enc = canonical.encode_value([list(args), kwargs])
        except canonical.EncodeError as exc:
            _write_all(3, json.dumps({"unencodable_args": str(exc)}).encode())
            os._exit(0)
        if i >= len(answers):
            _write_all(3, json.dumps({"need": i, "args": enc}).encode())
            os._exit(0)
        answer = answers[i]
        if answer["args"] != enc:
            if answer.get(
                "predicted"
            ):  # the supervisor guessed the calls from the test's text; it guessed wrong
                _write_all(3, json.dumps({"need": i, "args": enc, "mispredicted": True}).encode())
            else:
                _write_all(3, json.dumps({"nondeterministic": i}).encode())
            os._exit(0)
        if "error" in answer:
            raise CandidateError(answer["error"])
        return canonical.decode_value(answer["value"])

    glb: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(payload.get("prelude", ""), "<prelude>", "exec", dont_inherit=True), glb)
        glb[payload["entry_point"]] = candidate
        exec(compile(test, "<test>", "exec", dont_inherit=True), glb)
        check = glb.get("check")
        if callable(check):
            check(candidate)
        record: dict[str, Any] = {"done": True, "calls": counter[0]}
    except BaseException as exc:  # noqa: BLE001  (an assert or the candidate's error fails the test)
        record = {"failed": f"{type(exc).__name__}: {str(exc)[:200]}", "calls": counter[0]}
    _write_all(3, json.dumps(record).encode())
    return 0


# --------------------------------------------------------------------------------------------------
# zygote loop


def _recv(sock: _socket.socket, nfds: int) -> tuple[bytes, list[int]]:
    """One message and up to `nfds` descriptors passed with it."""
    msg, anc, _, _ = sock.recvmsg(1 << 16, _socket.CMSG_SPACE(4 * nfds))
    fds: list[int] = []
    for level, kind, data in anc:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += memoryview(data[: len(data) - len(data) % 4]).cast("i").tolist()
    return msg, fds


class Child:
    """A forked child waiting for (or running) its job."""

    __slots__ = ("pid", "go_w", "turn", "limits")

    def __init__(self, pid: int, go_w: int, turn: int, limits: bytes) -> None:
        self.pid, self.go_w, self.turn, self.limits = pid, go_w, turn, limits


def spawn(
    policy: str, native_fd: int, turn: int, limits: bytes, cfg: dict[str, Any], scratch: str, me: int
) -> Child:
    """Fork a child that prepares itself for `policy` as uid ``cfg["uids"][turn]`` with the rlimits of
    `limits` (the tail of a job line) and waits for its go."""
    go_r, go_w = os.pipe()
    pid = _fork()
    if pid == 0:  # the child: prepare, wait for the go, run the job; never returns
        try:
            prepare(policy, go_r, native_fd, cfg["uids"][turn], limits, cfg, scratch, me)
        except BaseException:  # noqa: BLE001  (the zygote sees the unread go and reports infra failure)
            os._exit(126)
        go = os.read(GO_FD, 512)
        if not go:  # the zygote is gone, or dropped this child unused
            os._exit(0)
        run_child(go, cfg)
    os.close(go_r)
    if pid < 0:
        e = ctypes.get_errno()
        os.close(go_w)
        raise OSError(e, f"fork: {os.strerror(e)}")
    return Child(pid, go_w, turn, limits)


def drop(child: Child) -> None:
    """Kill and reap a child that never got a job."""
    os.close(child.go_w)
    try:
        os.kill(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(child.pid)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # already reaped (level full reaps strays with waitpid(-1))
        pass


class Zygote:
    """The job loop. Children run as ``cfg["uids"][turn]``. With two uids (we are root), the next
    Python child is forked and prepared WHILE the current one runs: it has the other uid, so the running
    child can neither signal it nor touch its memory, and neither counts against the other's
    RLIMIT_NPROC. With one uid (or none), a child is forked only once the previous one is reaped."""

    def __init__(self, sock: _socket.socket, cfg: dict[str, Any], scratch: str) -> None:
        self.sock, self.cfg, self.scratch = sock, cfg, scratch
        self.me = os.getpid()
        self.turns = len(cfg["uids"])
        self.turn = 0
        self.ahead: Child | None = None  # a Python child forked ahead of its job
        self.limits = (
            b"1 -1 -1 -1 -1 -1"  # rlimits the next Python job will most likely want (the last one's)
        )
        self.dying: dict[int, int] = {}  # turn -> pid of a killed child not yet reaped
        self.poller = select.poll()  # only to notice the supervisor hanging up
        self.poller.register(sock.fileno(), select.POLLHUP | select.POLLERR)

    def new_child(self, policy: str, limits: bytes, native_fd: int = -1) -> Child:
        turn = self.turn
        pid = self.dying.pop(turn, None)
        if pid is not None:  # the last child with this uid must be gone first
            _reap(pid)
        child = spawn(policy, native_fd, turn, limits, self.cfg, self.scratch, self.me)
        self.turn = (turn + 1) % self.turns
        return child

    def serve(self) -> None:
        """Jobs until the supervisor hangs up: Python jobs in the C loop when it is built and wanted
        (`serve_fast`), every job in Python otherwise."""
        try:
            if fast_loop(self.cfg):
                self.serve_fast()
                return
            while True:
                for turn, pid in list(self.dying.items()):  # reap what is already gone
                    try:
                        if os.waitpid(pid, os.WNOHANG)[0]:
                            del self.dying[turn]
                    except ChildProcessError:
                        del self.dying[turn]
                if self.ahead is None:
                    try:
                        self.ahead = self.new_child("python", self.limits)
                    except OSError:
                        pass  # try again with the job itself
                try:
                    msg, fds = _recv(self.sock, 1)
                except OSError:
                    return
                if not msg or self.handle(msg, fds):
                    return
        finally:
            if self.ahead is not None:
                drop(self.ahead)
            for pid in self.dying.values():
                _reap(pid)

    def serve_fast(self) -> None:
        """The C loop (`_zygote_fast.serve`) runs Python jobs; it hands any other job back with no child
        of its own left, and this one runs it here. In a child, serve() returns its go line."""
        fast = _zygote_fast
        assert fast is not None  # (serve checked `fast_loop`)
        hexed = self.cfg["bpf"].get("python", "")
        fast.configure(
            sock=self.sock.fileno(),
            uids=self.cfg["uids"],
            gid=self.cfg["gid"],
            scratch=self.scratch,
            layer=bytes.fromhex(hexed),
            wipe=wipe,
        )
        while True:
            got = fast.serve()
            if got is None:
                return
            if type(got) is bytes:  # we are a child, prepared, and this is our go
                run_child(got, self.cfg)
            msg, fd = got
            gone = self.handle(msg, [fd] if fd >= 0 else [])
            for pid in self.dying.values():  # the C loop forks only once no child of ours is left
                _reap(pid)
            self.dying.clear()
            if gone:
                return

    def handle(self, msg: bytes, fds: list[int]) -> bool:
        """Run one job and send its reply; whether the supervisor hung up."""
        stopped: Child | None = None
        try:
            reply, gone, stopped = self.run(msg, fds)
        except Exception as exc:  # noqa: BLE001  (a zygote fault is reported, not fatal)
            reply, gone = f"error {type(exc).__name__}: {exc}".encode(), False
        finally:
            for fd in fds:
                os.close(fd)
        try:
            self.sock.send(reply)
        except OSError:
            gone = True
        if stopped is not None:  # it can run no more code: kill it; reap it when its uid is next due
            os.kill(stopped.pid, signal.SIGKILL)
            if self.turns > 1:
                self.dying[stopped.turn] = stopped.pid
            else:
                _reap(stopped.pid)
        wipe(self.scratch)
        return gone

    def run(self, msg: bytes, fds: list[int]) -> tuple[bytes, bool, Child | None]:
        """One job: the reply line, whether the supervisor hung up, and the child if it is stopped
        (finished, not yet killed)."""
        mode, _, wall_limit, limits = msg.split(None, 3)
        python = mode in PYTHON_MODES
        if python:
            self.limits = limits
        if python and self.ahead is not None and self.ahead.limits == limits:
            child, self.ahead = self.ahead, None
        else:
            if self.ahead is not None:
                drop(self.ahead)
                self.ahead = None
            policy = "python" if python else mode.decode()
            if policy not in ("python", "native", "compile"):
                raise ValueError(f"unknown mode {policy!r}")
            if policy != "python" and self.cfg["bpf_refs"] and policy not in self.cfg["bpf_refs"]:
                # filters are on, but not this mode's: never run it without its layer
                raise ValueError(f"no seccomp filter for mode {policy!r} was given to this zygote")
            if policy == "native" and len(fds) != 1:
                raise ValueError(f"a native job needs 1 descriptor, got {len(fds)}")
            child = self.new_child(policy, limits, fds[0] if fds else -1)
        t0 = time.monotonic()
        deadline = t0 + float(wall_limit)
        lost = False
        try:
            os.write(child.go_w, msg)
        except BrokenPipeError:  # it died during its set-up, before it could read its go
            lost = True
        if python and self.turns > 1 and not lost:
            try:  # the next child prepares while this one runs (the other uid)
                self.ahead = self.new_child("python", limits)
            except OSError:
                self.ahead = None
        timed_out = gone = False
        info = None
        while True:
            info = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WSTOPPED | os.WNOHANG | os.WNOWAIT)
            if info is not None:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if signal.sigtimedwait((signal.SIGCHLD,), min(left, 0.25)) is None and self.poller.poll(0):
                gone = True
                break
        wall = time.monotonic() - t0
        if (
            info is not None
            and info.si_code == os.CLD_STOPPED
            and info.si_status == signal.SIGSTOP
            and not lost
        ):
            os.close(child.go_w)
            # the harness finished with status 0 and stopped itself: answer before the teardown
            cpu = time.clock_gettime(((~child.pid) << 3) | 2)  # the process's CPU clock (all threads)
            reply = f"ok 0 - {cpu!r} {wall!r} {_peak_rss_kb(child.pid)} 0 0"
            return reply.encode(), False, child
        if info is None or info.si_code == os.CLD_STOPPED:  # deadline, hang-up, or a stop of its own
            try:
                os.kill(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status, ru = os.wait4(child.pid, 0)
        unread = int.from_bytes(fcntl.ioctl(child.go_w, _FIONREAD, b"\0\0\0\0"), sys.byteorder)
        os.close(child.go_w)
        if self.cfg["level"] == "full" and mode == b"compile":  # pid 1 reaps the compiler's strays
            self.reap_strays()
        if (lost or unread) and not gone:
            return (
                f"infra the sandboxed child died during its set-up (wait status {status})".encode(),
                gone,
                None,
            )
        if info is not None and info.si_code == os.CLD_STOPPED:
            status = info.si_status  # reported as killed by the stop signal it raised: never a pass
            code: int | str = "-"
            sig: int | str = info.si_status
        else:
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else "-"
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else "-"
        reply = (
            f"ok {code} {sig} {ru.ru_utime + ru.ru_stime!r} {wall!r} {ru.ru_maxrss} {timed_out:d} {gone:d}"
        )
        return reply.encode(), gone, None

    def reap_strays(self) -> None:
        """Reap whatever died (the compiler's processes reparented to us). A killed child of ours reaped
        here leaves `dying`, so its pid is never waited for again."""
        try:
            while (pid := os.waitpid(-1, os.WNOHANG)[0]) > 0:
                self.dying = {turn: p for turn, p in self.dying.items() if p != pid}
        except ChildProcessError:
            return


def fast_loop(cfg: dict[str, Any]) -> bool:
    """Whether Python jobs run in the C loop: wanted by the supervisor, built, and of our ABI."""
    return bool(cfg.get("fast")) and _zygote_fast is not None and _zygote_fast.ABI == FAST_ABI


def _peak_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            text = fh.read()
        at = text.index(b"VmHWM:")
        return int(text[at + 6 : text.index(b"kB", at)])
    except (OSError, ValueError):
        return 0


_FIONREAD = 0x541B  # unread bytes in a pipe (asm-generic; x86_64 and arm64)


def take_fds(sock: _socket.socket) -> None:
    """Setup: receive the five memfds and keep them on fds 4, 0, 1, 2, 3 (job, stdin, stdout, stderr,
    channel) for good; every child inherits them there."""
    msg, fds = _recv(sock, 5)
    if msg != b"fds" or len(fds) != 5:
        raise ValueError(f"setup: expected b'fds' and 5 descriptors, got {msg[:20]!r} and {len(fds)}")
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds]
    for fd in fds:
        os.close(fd)
    for fd, target in zip(high, (4, 0, 1, 2, 3)):
        os.dup2(fd, target)  # inheritable
        os.close(fd)


def main() -> None:
    cfg = json.loads(sys.argv[2])
    cfg["sock_fd"] = sock_fd = int(sys.argv[1])
    cfg["uids"] = cfg.get("uids") or [None]
    cfg["bpf_refs"] = {}
    cfg["bpf_keep"] = []
    for policy, hexed in cfg["bpf"].items():  # built once here; each child only makes one prctl call
        raw = bytes.fromhex(hexed)
        buf = ctypes.create_string_buffer(raw, len(raw))
        prog = _SockFprog(len(raw) // 8, ctypes.cast(buf, ctypes.c_void_p))
        cfg["bpf_keep"] += [buf, prog]
        cfg["bpf_refs"][policy] = ctypes.byref(prog)
    if cfg["bpf_refs"] and not {"zygote", "python"} <= cfg["bpf_refs"].keys():
        raise SystemExit("zygote: the seccomp layers 'zygote' and 'python' come together or not at all")
    argv = (ctypes.c_char_p * 2)(b"solution", None)
    envp = (ctypes.c_char_p * 3)(b"PATH=/usr/bin:/bin", b"LANG=C.UTF-8", None)
    cfg["exec_argv"], cfg["exec_envp"] = argv, envp
    bound = os.environ.get("LD_BIND_NOW") == "1"  # every symbol resolved at start (embedded.ZYGOTE_ENV)
    os.environ.clear()  # children inherit exactly this
    os.environ.update({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp"})
    for name in (
        "builtins",
        "random",
        "traceback",
        *cfg.get("preload", PRELOAD),
    ):  # the harness needs the first three
        try:
            __import__(name)
        except ImportError:
            pass
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    if cfg["level"] == "full":
        enter_namespaces_and_root(cfg)
    scratch = make_scratch(cfg)
    sock_fd = fcntl.fcntl(sock_fd, fcntl.F_DUPFD_CLOEXEC, 10)  # fds 0-4 are about to become the memfds
    os.close(cfg["sock_fd"])
    sock = _socket.socket(fileno=sock_fd)
    # not dumpable: a child running as our own uid (no root, so no slot uid) cannot open our
    # /proc/<pid>/mem to rewrite us; inherited by the children (no other process of theirs can either)
    _ok(_prctl(PR_SET_DUMPABLE, 0, None, 0, 0), "dumpable")
    if cfg["bpf_refs"]:  # inherited by every child; children may not gain privileges through execve
        _ok(_prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0), "no_new_privs")
        _ok(_prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, cfg["bpf_refs"]["zygote"], 0, 0), "seccomp base")
    hello = {
        "ready": True,
        "pid": os.getpid(),
        "level": cfg["level"],
        "magic": sys.modules["_frozen_importlib_external"].MAGIC_NUMBER.hex(),
        "hard": [resource.getrlimit(r)[1] for r in _RLIMITS],  # -1: unlimited; the supervisor clamps
        "fast": fast_loop(cfg),
        "bound": bound,
    }
    try:
        sock.send(json.dumps(hello).encode())
        take_fds(sock)
        sock.send(b"ok")
        signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGCHLD,))  # collected with sigtimedwait
        zygote = Zygote(sock, cfg, scratch)
        rehearse()
        gc.collect()
        gc.freeze()
        zygote.serve()
    finally:
        if cfg["level"] != "full":
            wipe(scratch)
            try:
                os.rmdir(scratch)
            except OSError:
                pass


if __name__ == "__main__":
    main()
