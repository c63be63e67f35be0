"""The embedded backend: warm zygotes (one per core) that fork a hardened child per job. No Docker.

Threat model. Covered: model-written code that loops, forks, allocates, floods output, fills the disk,
writes or deletes files, opens sockets, reads secrets from the environment or /proc, walks frames or
the heap for expected outputs, forges the result channel, returns objects with lying ``__eq__``, exits
early, monkeypatches the harness, signals or traces the supervisor, or leaves state for the next test.
Not covered: kernel exploits (seccomp narrows the attack surface; only a VM removes it), side channels
(timing, cache), and at level "seccomp" (no namespaces) reads of world-readable host files and
disk use across many files in the scratch directory (each file is capped by RLIMIT_FSIZE).

Process tree: supervisor (this process) -> zygote (``python -I -S``, root, single-threaded; at level
"full" it is pid 1 of its own pid namespace) -> one child per job (one of the slot's two uids, seccomp,
rlimits), the next one already prepared while the current one runs (see `sandbox._zygote`). The
supervisor compiles each Python program once (``compile`` runs no code; `compiled_program`) and every
child only unmarshals it; a program that does not compile is a COMPILE_ERROR without any child. The
zygotes stay in the supervisor's process group, so killing that group (what `verifiers.pool` does to a
hung worker) kills them; a child dies with its zygote (pid namespace teardown, or PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import atexit
import collections
import functools
import importlib.util
import json
import marshal
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox.backend import Backend, BackendError, refuse
from sandbox.cpp import pch_root
from sandbox.types import Isolation, Job, Limits, RunResult, Status

__all__ = ["EmbeddedBackend", "ZygoteClient", "ZygoteError", "slot_uid"]

ZYGOTE_SCRIPT = Path(__file__).with_name("_zygote.py")
# Added to a zygote's environment by both backends. LD_BIND_NOW=1: the dynamic linker resolves every
# symbol of the interpreter and libc when the zygote starts, so no child resolves one lazily on its
# first call (a symbol search plus a write to the GOT, which copies that page, in every child): 16-23
# fewer page faults per child, 0.04-0.2 ms less CPU per execution on the 2-core benchmark VM (A/B in one
# process; the cost of a fault varies with the VM's phase). The zygote clears its environment before it
# forks any child: no program sees it.
ZYGOTE_ENV = {"LD_BIND_NOW": "1"}
STDERR_TAIL = 4096
EXIT_SYNTAX, EXIT_MEMORY, EXIT_OUTPUT, EXIT_ENCODE = 90, 91, 92, 93
UID_BASE = 1 << 24
MAX_WORKERS = 64
"""Zygote k of the supervisor with pid p (k: a number unique among this process's live zygotes, all
backends together) runs its children as uids ``UID_BASE + 2 * (64 * p + k) + t`` for turns t = 0, 1,
with gid turn 0's uid (when root): unique among live zygotes on the machine, so children of different
zygotes (of two backends, or two pool workers) cannot signal each other or share one RLIMIT_NPROC
count, and disjoint from the Docker backend's range. Two uids per zygote let the next child be prepared
while the current one runs (see `sandbox._zygote`)."""

_uid_slots_lock = threading.Lock()
_free_uid_slots: collections.deque[int] = collections.deque(range(MAX_WORKERS))


def _take_uid_slot() -> int:
    with _uid_slots_lock:
        if not _free_uid_slots:
            raise ZygoteError(f"more than {MAX_WORKERS} zygotes in one process")
        return _free_uid_slots.popleft()


def _give_uid_slot(k: int) -> None:
    """Freed numbers are reused last (FIFO): a zygote's last children may still be dying."""
    with _uid_slots_lock:
        if k not in _free_uid_slots:
            _free_uid_slots.append(k)


def slot_uid(slot: int, pid: int | None = None, turn: int = 0) -> int:
    """The uid the children of zygote number `slot` run as on `turn` (0 or 1; the gid is always turn
    0's uid), for the supervisor `pid` (default: this one)."""
    return UID_BASE + 2 * (MAX_WORKERS * (os.getpid() if pid is None else pid) + slot) + turn


PRELOAD = "bisect collections copy functools heapq itertools math operator re string typing".split()
"""Imported by every zygote before forking: cheap modules most solutions use. Each extra module makes
every fork a little dearer (more memory to map and tear down), so heavier ones load on demand."""
PRELOAD_UNREADABLE_STDLIB = (
    "abc array calendar cmath dataclasses datetime decimal enum fractions hashlib io numbers queue "
    "statistics struct textwrap threading time unicodedata"
).split()
"""Added when the slot uid cannot read the standard library (e.g. an interpreter under /root at level
"seccomp"): there, a module not loaded before the fork cannot be imported at all."""


def _stdlib_readable_by_others() -> bool:
    path = os.path.dirname(os.__file__)
    while path not in ("/", ""):
        if not os.stat(path).st_mode & 0o005:
            return False
        path = os.path.dirname(path)
    return True


class ZygoteError(RuntimeError):
    """A zygote failed to start or broke the protocol."""


_MAGIC = importlib.util.MAGIC_NUMBER.hex()
_CACHE_SOURCE_CHARS = 1 << 16
"""Programs up to this many characters have their compiled form cached (`compiled_program`)."""


def compiled_program(source: str) -> tuple[bytes | None, str | None]:
    """``(marshal of the code object, None)``, ``(None, "SyntaxError: ...")`` when the program does not
    compile, or ``(None, None)`` when the compiler failed otherwise (deep nesting, memory): the child
    then compiles it and reports what happens.

    The supervisor compiles each program once (a program usually meets many tests) and every child
    only unmarshals it: same interpreter, same bytecode (the zygote's magic number is checked at start).
    Compiling runs no code. The program compiles as its own module: no ``__future__`` import of ours
    leaks in, and asserts stay (``optimize=0``).
    """
    if len(source) <= _CACHE_SOURCE_CHARS:
        return _compiled_cached(source)
    return _compile(source)


def _compile(source: str) -> tuple[bytes | None, str | None]:
    try:
        code = compile(source, "<solution>", "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes in the source
        return None, f"{type(exc).__name__}: {exc}\n"
    except Exception:  # noqa: BLE001  (RecursionError, MemoryError...: the child's compile decides)
        return None, None
    return marshal.dumps(code), None


_compiled_cached = functools.lru_cache(maxsize=512)(_compile)


def _memfd(name: str) -> int:
    return os.memfd_create(name, os.MFD_CLOEXEC)


def _put(fd: int, data: bytes) -> None:
    """Make the (emptied) memfd hold exactly `data`."""
    view = memoryview(data)
    offset = 0
    while offset < len(data):
        offset += os.pwrite(fd, view[offset:], offset)
    os.ftruncate(fd, len(data))


def _parse_reply(raw: bytes) -> dict[str, Any]:
    """The zygote's ``ok ...`` line as a dict (see `sandbox._zygote`)."""
    f = raw.split()
    return {
        "exit": None if f[1] == b"-" else int(f[1]),
        "signal": None if f[2] == b"-" else int(f[2]),
        "cpu": float(f[3]),
        "wall": float(f[4]),
        "rss_kb": int(f[5]),
        "timeout_wall": f[6] == b"1",
        "supervisor_gone": f[7] == b"1",
    }


def _read_capped(fd: int, cap: int) -> tuple[bytes, int]:
    size = os.fstat(fd).st_size
    return os.pread(fd, min(size, cap), 0), size


def _tail(fd: int, n: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, min(size, n), max(0, size - n))


def _pch_binds() -> list[str]:
    """The precompiled-header directory, made now (empty) so the zygote can bind it into its root."""
    try:
        os.makedirs(pch_root(), mode=0o755, exist_ok=True)
    except OSError:
        return []
    return [pch_root()]


class ZygoteClient:
    """One zygote process and the socket to it (not thread-safe: one job at a time).

    Args:
        level: "full", "seccomp" or "none" (see `Isolation`).
        slot: the backend's slot number (bookkeeping); when we are root the children run as the two
            uids of a number unique among this process's live zygotes (`slot_uid`).
        bpf_layers: the seccomp layers by policy (`bpf_layers`), or {} for no filters at all.
        scratch_mb: size of the scratch tmpfs at level "full".
        preload: modules the zygote imports before forking (None: `PRELOAD`).
        fast_loop: run Python jobs in the zygote's C loop (`sandbox/_zygote_fast.c`) when it is built;
            False runs every job in the pure-Python loop (same protocol and replies; for tests).
    """

    def __init__(
        self,
        level: str,
        slot: int,
        bpf_layers: Mapping[str, bytes],
        *,
        scratch_mb: int = 64,
        preload: Sequence[str] | None = None,
        fast_loop: bool = True,
    ) -> None:
        root = os.geteuid() == 0
        bpf = bpf_config(bpf_layers)  # before a uid number is taken: it may refuse the layers
        self._uid_slot = _take_uid_slot() if root else -1
        k = self._uid_slot
        uids: list[int | None] = [slot_uid(k, turn=0), slot_uid(k, turn=1)] if root else [None]
        cfg = {
            "level": level,
            "uids": uids,
            "gid": slot_uid(k) if root else None,
            "bpf": bpf,
            "ro_binds": _pch_binds(),
            "scratch_mb": scratch_mb,
            "prefix": sys.base_prefix,
            "fast": fast_loop,
        }
        if preload is None:
            preload = PRELOAD
            if level != "full" and root and not _stdlib_readable_by_others():
                preload = PRELOAD + PRELOAD_UNREADABLE_STDLIB
        cfg["preload"] = list(preload)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", **ZYGOTE_ENV}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", str(ZYGOTE_SCRIPT), str(theirs.fileno()), json.dumps(cfg)],
                pass_fds=(theirs.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                close_fds=True,
            )
        except BaseException:
            if self._uid_slot >= 0:
                _give_uid_slot(self._uid_slot)
            raise
        finally:
            theirs.close()
        self.sock = ours
        self.level = level
        self.slot = slot
        self.uid = uids[0]
        ours.settimeout(30)
        try:
            hello = ours.recv(4096)
        except OSError as exc:
            hello = b""
            reason = str(exc)
        else:
            reason = "it exited"
        if not hello:
            err = b""
            try:
                self.proc.kill()
                err = self.proc.communicate(timeout=5)[1] or b""
            except (OSError, subprocess.SubprocessError):
                pass
            ours.close()
            if self._uid_slot >= 0:
                _give_uid_slot(self._uid_slot)
            raise ZygoteError(
                f"zygote at level {level!r} did not start ({reason}): {err[-800:].decode(errors='replace')}"
            )
        if self.proc.stderr is not None:  # never read again: keep its pipe from filling up
            self.proc.stderr.close()
        try:
            self._start_session(hello)
        except (ZygoteError, OSError, ValueError) as exc:
            self.close()
            raise ZygoteError(f"zygote at level {level!r} failed its set-up: {exc}") from exc

    def _start_session(self, hello: bytes) -> None:
        """Read the hello, hand the zygote its five memfds for good, wait for its ok."""
        info = json.loads(hello)
        self.pid = info["pid"]
        # the zygote runs our bytecode version: send programs compiled (`compiled_program`)
        self.uses_compiled = info.get("magic") == _MAGIC
        self._hard = [int(h) for h in info.get("hard", [-1] * 6)]
        self.fast_loop: bool = bool(info.get("fast"))  # Python jobs run in the zygote's C loop
        self.symbols_bound: bool = bool(info.get("bound"))  # it started with ZYGOTE_ENV's LD_BIND_NOW
        self._fds = [_memfd(name) for name in ("job", "stdin", "stdout", "stderr", "channel")]
        self.sock.settimeout(30)
        socket.send_fds(self.sock, [b"fds"], self._fds)
        ok = self.sock.recv(64)
        if ok != b"ok":
            raise ZygoteError(f"the zygote did not take its descriptors (it said {ok[:200]!r})")
        self.sock.settimeout(None)

    def _request(self, job: Job, compiled: bool) -> bytes:
        """The job line (see `sandbox._zygote`): mode, compiled, wall, then the rlimits (-1: leave)."""
        lim = job.limits
        mem = lim.memory_mb << 20
        wanted = [
            max(1, int(lim.cpu_time_s + 0.999)),
            mem,
            lim.output_bytes,
            lim.open_files,
            lim.threads if self.uid is not None else -1,  # NPROC is per uid: only with a slot uid
            mem if job.mode == "native" else -1,  # deep recursion in C++ needs more than 8 MiB of stack
        ]
        for k, hard in enumerate(self._hard):  # an unprivileged child can only lower its limits
            if hard >= 0 and wanted[k] >= 0:
                wanted[k] = min(wanted[k], hard - 1 if k == 0 else hard)
        return f"{job.mode} {compiled:d} {lim.wall!r} {' '.join(map(str, wanted))}".encode()

    def execute(self, job: Job, isolation: Isolation) -> RunResult:
        """Run one job; INFRA_ERROR (never an exception) if the zygote misbehaves."""
        lim = job.limits
        binary = -1
        compiled = False
        if job.mode == "native":  # the cached binary, read-only; the child execs this descriptor
            if job.binary is None:
                return RunResult(
                    Status.INFRA_ERROR, isolation=isolation, detail="native job without a binary"
                )
            try:
                binary = os.open(job.binary, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                return RunResult(Status.INFRA_ERROR, isolation=isolation, detail=f"cached binary: {exc}")
        program = b""
        if job.mode != "native":
            if job.mode in ("script", "call") and self.uses_compiled:
                code, syntax_error = compiled_program(job.source)
                if syntax_error is not None:  # nothing to run: the verdict needs no child
                    return RunResult(
                        Status.COMPILE_ERROR,
                        exit_code=EXIT_SYNTAX,
                        stderr=syntax_error.encode()[-STDERR_TAIL:],
                        isolation=isolation,
                        detail="the program does not compile",
                    )
                if code is not None:
                    program, compiled = code, True
            if not compiled:
                program = job.source.encode("utf-8", "surrogatepass")
        job_fd, in_fd, out_fd, err_fd, ch_fd = self._fds
        try:
            try:
                if job.mode != "native":
                    _put(job_fd, len(program).to_bytes(8, "little") + program + job.payload)
                _put(in_fd, job.stdin)
                os.lseek(in_fd, 0, os.SEEK_SET)
                request = self._request(job, compiled)
                if binary >= 0:
                    socket.send_fds(self.sock, [request], [binary])
                else:
                    self.sock.send(request)
                self.sock.settimeout(lim.wall + 10)
                raw = self.sock.recv(1 << 16)
            except OSError as exc:
                return RunResult(Status.INFRA_ERROR, isolation=isolation, detail=f"zygote I/O failed: {exc}")
            if not raw:
                return RunResult(Status.INFRA_ERROR, isolation=isolation, detail="zygote exited")
            if not raw.startswith(b"ok "):
                why = raw.partition(b" ")[2][:500].decode(errors="replace")
                return RunResult(Status.INFRA_ERROR, isolation=isolation, detail=f"zygote: {why}")
            rep = _parse_reply(raw)
            stdout, out_size = _read_capped(out_fd, lim.output_bytes)
            channel, ch_size = _read_capped(ch_fd, lim.output_bytes)
            stderr = _tail(err_fd, STDERR_TAIL)
        finally:
            if binary >= 0:
                os.close(binary)
            for fd in self._fds:  # nothing of this job stays for the next one (the child is reaped)
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
        return _classify(
            rep, lim, stdout, out_size, channel, ch_size, stderr, isolation, job.mode == "native"
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Hang up (the zygote then exits by itself, reaping its children), then make sure."""
        try:
            self.sock.close()
        except OSError:
            pass
        for fd in getattr(self, "_fds", ()):
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []
        if getattr(self, "_uid_slot", -1) >= 0:
            _give_uid_slot(self._uid_slot)
            self._uid_slot = -1
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def _classify(
    rep: dict[str, Any],
    lim: Limits,
    stdout: bytes,
    out_size: int,
    channel: bytes,
    ch_size: int,
    stderr: bytes,
    isolation: Isolation,
    native: bool = False,
) -> RunResult:
    code, sig, cpu = rep["exit"], rep["signal"], float(rep["cpu"])
    detail = ""
    if native:  # any exit code is the program's own; the channel speaks only if exec failed
        if channel:
            why = channel[:200].decode(errors="replace")
            return RunResult(
                Status.INFRA_ERROR, isolation=isolation, detail=f"could not exec the binary: {why}"
            )
        code_map = code if code in (None, 0) else 1  # never read a program's exit code as a harness code
    else:
        code_map = code
    # SIGXCPU comes only from RLIMIT_CPU (or from the child itself: a failure either way); the hard
    # limit one second later is a SIGKILL; rusage may read a tick under the limit
    if cpu > lim.cpu_time_s or sig == 24 or (sig == 9 and cpu >= 0.9 * lim.cpu_time_s):
        status, detail = (
            Status.TIMEOUT,
            f"CPU limit {lim.cpu_time_s}s reached (rusage {cpu:.3f}s, signal {sig})",
        )
    elif rep["timeout_wall"]:
        status, detail = Status.TIMEOUT, f"wall-clock backstop {lim.wall:.1f}s (cpu {cpu:.3f}s)"
    elif out_size >= lim.output_bytes or ch_size >= lim.output_bytes or code_map == EXIT_OUTPUT:
        status, detail = Status.OUTPUT_LIMIT, f"output reached the cap of {lim.output_bytes} bytes"
    elif code_map == EXIT_MEMORY or rep["rss_kb"] > lim.memory_mb * 1024:
        status, detail = Status.MEMORY, f"memory limit {lim.memory_mb} MiB"
    elif sig is not None:
        status, detail = Status.KILLED, f"killed by signal {sig}"
    elif code_map == EXIT_SYNTAX:
        status = Status.COMPILE_ERROR
    elif code_map != 0:
        status = Status.RUNTIME_ERROR
        detail = (
            "result not encodable (plain built-in types only)" if code_map == EXIT_ENCODE else f"exit {code}"
        )
    else:
        status = Status.OK
    if rep.get("supervisor_gone"):
        status, detail = Status.INFRA_ERROR, "supervisor hung up"
    return RunResult(
        status=status,
        exit_code=code,
        signal=sig,
        stdout=stdout,
        stderr=stderr,
        channel=channel,
        cpu_time=cpu,
        wall_time=float(rep["wall"]),
        max_rss_kb=int(rep["rss_kb"]),
        isolation=isolation,
        detail=detail,
    )


_LEVEL_ORDER = (Isolation.FULL, Isolation.SECCOMP, Isolation.NONE)


class EmbeddedBackend(Backend):
    """Warm zygotes, one per core, each forking one hardened child per job.

    Args:
        workers: number of zygotes (default: CPU count). Jobs beyond that wait for a free one.
        level: the isolation level wanted, or None for the strongest that works here (probed at start).
        allow_unsafe: allow level "none" (rlimits only). Without it, a machine where nothing stronger
            works raises `BackendError`.
        scratch_mb: size of each zygote's scratch tmpfs at level "full".
        preload: modules each zygote imports before forking (None: `PRELOAD`; the
            harness's own needs are always loaded). More modules make programs that import them
            start faster but make every fork a little dearer.
        fast_loop: run Python jobs in the zygotes' C loop when it is built (see `fast_loop_built`);
            False: the pure-Python loop. `self.fast_loop` says which one runs.

    Raises:
        BackendError: no acceptable isolation level could be started.
    """

    name = "embedded"

    def __init__(
        self,
        *,
        workers: int | None = None,
        level: Isolation | str | None = None,
        allow_unsafe: bool = False,
        scratch_mb: int = 64,
        preload: Sequence[str] | None = None,
        fast_loop: bool = True,
    ) -> None:
        self.preload = preload
        self._want_fast = fast_loop
        self.workers = workers or os.cpu_count() or 1
        if not 1 <= self.workers <= MAX_WORKERS:
            raise BackendError(f"workers must be between 1 and {MAX_WORKERS}, got {workers}")
        self.scratch_mb = scratch_mb
        self._lock = threading.Lock()
        self._idle: queue.LifoQueue[ZygoteClient] = queue.LifoQueue()
        self._all: list[ZygoteClient] = []
        self._closed = False
        self._slots = list(range(self.workers))
        wanted = [Isolation(level)] if level is not None else list(_LEVEL_ORDER)
        if Isolation.NONE in wanted and not allow_unsafe:
            wanted = [lv for lv in wanted if lv is not Isolation.NONE]
            if not wanted:
                raise BackendError(
                    "isolation level 'none' runs untrusted code unconfined; pass allow_unsafe=True"
                )
        errors = []
        first = None
        for lv in wanted:
            try:
                self._bpf_layers = {} if lv is Isolation.NONE else bpf_layers()
                first = ZygoteClient(
                    lv.value,
                    0,
                    self._bpf_layers,
                    scratch_mb=scratch_mb,
                    preload=preload,
                    fast_loop=fast_loop,
                )
                self.isolation = lv
                break
            except (ZygoteError, OSError, RuntimeError) as exc:
                errors.append(f"{lv.value}: {exc}")
        if first is None:
            hint = "" if allow_unsafe else " (level 'none' needs allow_unsafe=True)"
            raise BackendError("no sandbox isolation level works here" + hint + ": " + "; ".join(errors))
        self.probe_errors = errors
        self.fast_loop = first.fast_loop
        self.symbols_bound = first.symbols_bound
        self._all.append(first)
        self._idle.put(first)
        self._slots.remove(0)
        atexit.register(self.close)

    @property
    def parallelism(self) -> int:
        return self.workers

    def _acquire(self) -> ZygoteClient:
        """An idle zygote, or a new one while slots are free. Waits in short slices so that a slot
        freed by a retired zygote is noticed (a plain blocking get would wait forever for it)."""
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                if self._closed:
                    raise ZygoteError("backend closed")
                if self._slots:  # start another zygote, up to `workers`
                    slot = self._slots.pop(0)
                    try:
                        z = ZygoteClient(
                            self.isolation.value,
                            slot,
                            self._bpf_layers,
                            scratch_mb=self.scratch_mb,
                            preload=self.preload,
                            fast_loop=self._want_fast,
                        )
                    except ZygoteError:
                        self._slots.append(slot)
                        raise
                    self._all.append(z)
                    return z
            try:
                return self._idle.get(timeout=0.05)
            except queue.Empty:
                continue

    def execute(self, job: Job) -> RunResult:
        refused = refuse(job, closed=self._closed, isolation=self.isolation)
        if refused is not None:
            return refused
        try:
            z = self._acquire()
        except (ZygoteError, OSError) as exc:
            return RunResult(Status.INFRA_ERROR, isolation=self.isolation, detail=str(exc))
        result = z.execute(job, self.isolation)
        if result.status is Status.INFRA_ERROR or not z.alive():
            self._retire(z)
        else:
            self._idle.put(z)
        return result

    def _retire(self, z: ZygoteClient) -> None:
        """Drop a broken zygote; its slot becomes free for a fresh one."""
        z.close()
        with self._lock:
            if z in self._all:
                self._all.remove(z)
                self._slots.append(z.slot)

    def pids(self) -> list[int]:
        """Process ids of the running zygotes (for tests and diagnostics)."""
        return [z.proc.pid for z in self._all]

    def close(self) -> None:
        self._closed = True
        with self._lock:
            for z in self._all:
                z.close()
            self._all.clear()


def fast_loop_built() -> bool:
    """Whether the zygote's C loop (`sandbox/_zygote_fast.c`) was built at install (it needs a C
    compiler then; without it the zygote runs the same loop in Python, slower)."""
    return importlib.util.find_spec("sandbox._zygote_fast") is not None


def bpf_layers() -> dict[str, bytes]:
    """Every seccomp layer by policy: the base ("zygote") and the child layers ("python", "native",
    "compile"); see `sandbox.seccomp`."""
    from sandbox.seccomp import POLICIES, filter_bpf

    return {policy: filter_bpf(policy) for policy in POLICIES}


def bpf_config(layers: Mapping[str, bytes]) -> dict[str, str]:
    """The zygote's ``bpf`` config: each layer in hex. Child layers without the base are refused."""
    if layers and "zygote" not in layers:
        raise ZygoteError("the seccomp child layers need the base layer 'zygote' (see `bpf_layers`)")
    return {policy: raw.hex() for policy, raw in layers.items()}


def execute_many(backend: Backend, jobs: Sequence[Job]) -> list[RunResult]:
    """Run jobs concurrently on `backend` (threads; the backend bounds real parallelism)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, backend.parallelism)) as ex:
        return list(ex.map(backend.execute, jobs))
