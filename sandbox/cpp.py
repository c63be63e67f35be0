"""C++ programs: compiled once in a sandboxed child under their own policy, cached by source hash, then
exec'd per test in the same hardened child as Python.

Compile step (`build`). The source goes to a zygote child as a ``compile`` job (see `sandbox._zygote`):
the child runs as the slot uid with the seccomp policy "compile" (it may fork and exec the compiler
driver, cc1plus, as and ld; no sockets, no ptrace, no namespaces, no IPC objects) and `COMPILE_LIMITS`
(CPU, address space, file size, process count per process tree member), in the same read-only root and
private scratch as any other job. Compile-time attacks stay inside those walls: ``#include "/dev/zero"``
runs the compiler out of address space, a template or constexpr bomb out of CPU, memory or GCC's own
depth limits, a giant initialised array out of RLIMIT_FSIZE; secret files are not in the root (level
"full") or not readable by the slot uid. Any failure to produce a binary, limits included, is the
program's fault: the verdict is ``compile_error`` (score 0), never "cannot judge". Only a failure of the
sandbox itself (a dead zygote) is an infrastructure error.

Cache (`BinaryCache`). The binary comes back through the job's result channel and is stored under
``sha256(compiler identity, flags, source)`` in a private directory (mode 0700; default
``$R1_SANDBOX_CACHE`` or ``~/.cache/r1-verifiers/cpp``), least recently used entries evicted past a byte
cap. Compile errors are cached too (only real compiler errors, not limit hits), so a group of identical
wrong completions pays for one compile. Writes are atomic (temp file + rename), so several worker
processes can share one cache.

Run step. Each test is a ``native`` job: the supervisor opens the cached binary read-only and passes the
descriptor; the child applies the usual rlimits, uid and seccomp policy "native" (which allows exactly
``execveat(4, "", argv, envp, AT_EMPTY_PATH)``) and execs it. Nothing is exec'd from a writable memfd,
and the cache directory is never visible inside the sandbox. Binaries are linked statically, so they
need nothing from the child's root.

Precompiled header: ``<bits/stdc++.h>`` is precompiled once per machine with the same flags (about 5 s;
it cuts a typical competitive-programming compile from ~2.3 s to ~0.5 s of CPU here) into a root-owned,
world-readable directory (`pch_root`) that the zygotes bind read-only into their roots. If that fails,
compiles still work without it.

Not covered: at levels without a slot uid (not root), children share the supervisor's uid and could
write to the cache directory and the PCH directory; run as root (level "full") for a tamper-proof cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.types import Job, Limits, Status

if TYPE_CHECKING:
    from sandbox.backend import Backend

__all__ = [
    "COMPILE_LIMITS",
    "FLAGS",
    "LANGUAGES",
    "BinaryCache",
    "Build",
    "CompilerMissing",
    "Toolchain",
    "build",
    "default_cache",
    "pch_root",
    "toolchain",
]

LANGUAGES = ("cpp", "c++", "cc", "cxx")
"""Names accepted for C++ in `Program.language`."""
FLAGS = ("-O2", "-std=c++17", "-pipe", "-static")
"""Compiler flags (static linking: the binary needs nothing from the sandbox's root at run time)."""
EXTRA = ("-fmax-errors=20", "-fdiagnostics-color=never")
"""Flags that change messages, not the binary (not part of the cache key)."""
COMPILE_LIMITS = Limits(cpu_time_s=10.0, memory_mb=1536, output_bytes=64 << 20, open_files=64, threads=32)
"""Compile step: 10 s CPU per process (wall backstop 21 s), 1.5 GiB address space per process, 64 MiB per
written file (binary, temporaries, messages), 64 open files, 32 processes for the slot uid."""
SOURCE_NAME, OUTPUT_NAME = "main.cpp", "a.out"
DETAIL_CHARS = 2000
"""Compiler messages kept in a compile-error verdict (the tail, which holds the first fatal error's context)."""


class CompilerMissing(RuntimeError):
    """No C++ compiler on this machine (Debian: ``apt-get install g++``)."""


@dataclass(frozen=True)
class Toolchain:
    """The compiler a cache key refers to."""

    compiler: str
    """Absolute path of g++ (trusted: it is the host's, seen read-only inside the sandbox)."""
    version: str
    """``g++ --version`` first line plus the target triple: part of every cache key."""
    flags: tuple[str, ...] = FLAGS
    """Flags that shape the binary (part of every cache key)."""

    def key(self, source: str) -> str:
        """Cache key of `source`: sha256 over compiler, version, flags and the source bytes."""
        h = hashlib.sha256(json.dumps([self.compiler, self.version, list(self.flags)]).encode())
        h.update(b"\0")
        h.update(source.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def argv(self, pch_dir: str | None) -> list[str]:
        """The compile command run in the sandboxed child (in its scratch directory)."""
        inc = ["-I", pch_dir] if pch_dir else []
        return [self.compiler, *self.flags, *EXTRA, *inc, SOURCE_NAME, "-o", OUTPUT_NAME]


@functools.lru_cache(maxsize=1)
def toolchain() -> Toolchain:
    """The host's g++ (``$R1_CXX`` or ``g++`` on PATH), probed once.

    Raises:
        CompilerMissing: no g++, or it would not report its version.
    """
    name = os.environ.get("R1_CXX", "g++")
    path = shutil.which(name, path="/usr/bin:/bin:" + os.environ.get("PATH", ""))
    if path is None:
        raise CompilerMissing(f"no C++ compiler {name!r} found; install g++ (Debian: apt-get install g++)")
    path = os.path.realpath(path)
    try:
        first = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True)
        machine = subprocess.run(
            [path, "-dumpmachine"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise CompilerMissing(f"{path} --version failed: {exc}") from exc
    return Toolchain(path, first.stdout.splitlines()[0].strip() + " " + machine.stdout.strip())


def pch_root() -> str:
    """Directory for precompiled headers (world-readable, written only by this uid); zygotes bind it."""
    return f"/var/tmp/r1-verifiers-pch-{os.geteuid()}"


_pch_lock = threading.Lock()


def ensure_pch(tc: Toolchain) -> str | None:
    """Directory holding ``bits/stdc++.h.gch`` for `tc` (built on first use), or None if it cannot be.

    Built on the host, outside the sandbox: its only input is the system header. The directory name
    hashes the toolchain, so a new compiler gets a new header.
    """
    d = Path(pch_root()) / tc.key("<bits/stdc++.h>")[:16]
    gch = d / "bits" / "stdc++.h.gch"
    if gch.is_file():
        return str(d)
    with _pch_lock:
        if gch.is_file():
            return str(d)
        header = _stdcpp_header(tc)
        if header is None:
            return None
        try:
            os.makedirs(pch_root(), mode=0o755, exist_ok=True)
            os.chmod(pch_root(), 0o755)
            (d / "bits").mkdir(parents=True, exist_ok=True, mode=0o755)
            tmp = gch.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}.gch")
            subprocess.run(
                [
                    tc.compiler,
                    *[f for f in tc.flags if f != "-static"],
                    "-x",
                    "c++-header",
                    header,
                    "-o",
                    str(tmp),
                ],
                capture_output=True,
                timeout=300,
                check=True,
            )
            os.chmod(tmp, 0o644)
            os.replace(tmp, gch)
        except (OSError, subprocess.SubprocessError):
            return None
    return str(d)


def _stdcpp_header(tc: Toolchain) -> str | None:
    try:
        out = subprocess.run(
            [tc.compiler, "-std=c++17", "-x", "c++", "-E", "-H", "-"],
            input="#include <bits/stdc++.h>\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.stderr.splitlines():  # -H lists included headers, the first one at depth 1
        if line.startswith(". ") and line.endswith("bits/stdc++.h"):
            return line[2:]
    return None


class BinaryCache:
    """Compiled binaries (and compile errors) on disk, keyed by `Toolchain.key`, LRU past `max_bytes`.

    Args:
        root: the cache directory (created 0700); default ``$R1_SANDBOX_CACHE`` or ~/.cache/r1-verifiers/cpp.
        max_bytes: evict least recently used entries (by mtime, bumped on every hit) past this total.
    """

    def __init__(self, root: str | Path | None = None, *, max_bytes: int = 1 << 30) -> None:
        if root is None:
            root = os.environ.get("R1_SANDBOX_CACHE") or Path.home() / ".cache" / "r1-verifiers" / "cpp"
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        self._locks = [threading.Lock() for _ in range(64)]

    def lock(self, key: str) -> threading.Lock:
        """A lock for `key` (striped), so two threads do not compile one source twice."""
        return self._locks[int(key[:4], 16) % len(self._locks)]

    def binary(self, key: str) -> str | None:
        """Path of the cached binary for `key` (and mark it recently used), or None."""
        return self._hit(self.root / f"{key}.bin")

    def error(self, key: str) -> str | None:
        """Cached compiler messages for `key`, or None."""
        path = self._hit(self.root / f"{key}.err")
        if path is None:
            return None
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            return None

    def put_binary(self, key: str, data: bytes) -> str:
        return self._put(f"{key}.bin", data, 0o755)  # executable by the slot uid through the passed fd

    def put_error(self, key: str, text: str) -> None:
        self._put(f"{key}.err", text.encode(), 0o600)

    @staticmethod
    def _hit(path: Path) -> str | None:
        try:
            os.utime(path)
        except OSError:
            return None
        return str(path)

    def _put(self, name: str, data: bytes, mode: int) -> str:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, mode)
            os.replace(tmp, self.root / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._evict()
        return str(self.root / name)

    def _evict(self) -> None:
        entries = []
        total = 0
        for e in os.scandir(self.root):
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if e.name.startswith(".tmp-"):
                continue
            entries.append((st.st_mtime, st.st_size, e.path))
            total += st.st_size
        if total <= self.max_bytes:
            return
        entries.sort()
        for _, size, path in entries[:-1]:  # never the newest (just written)
            try:
                os.unlink(path)
            except OSError:
                continue
            total -= size
            if total <= self.max_bytes * 0.9:
                break

    def clear(self) -> None:
        """Delete every entry."""
        for e in os.scandir(self.root):
            Path(e.path).unlink(missing_ok=True)


_default_cache: BinaryCache | None = None
_default_lock = threading.Lock()


def default_cache() -> BinaryCache:
    """This process's shared cache (``$R1_SANDBOX_CACHE`` or ~/.cache/r1-verifiers/cpp)."""
    global _default_cache
    with _default_lock:
        if _default_cache is None:
            _default_cache = BinaryCache()
        return _default_cache


@dataclass(frozen=True)
class Build:
    """The outcome of compiling one source (or finding it in the cache)."""

    binary: str | None
    """Path of the cached binary, or None when the source did not compile."""
    error: str | None = None
    """Compiler messages (the last `DETAIL_CHARS`) when it did not compile."""
    compiled: bool = False
    """True when this call ran the compiler; False on a cache hit."""
    cpu_time: float = 0.0
    wall_time: float = 0.0


def build(
    backend: Backend, source: str, *, cache: BinaryCache | None = None, limits: Limits = COMPILE_LIMITS
) -> Build:
    """Compile `source` in a sandboxed child of `backend`, or take it from `cache`.

    Raises:
        CompilerMissing: no g++ here.
        sandbox.judge.CannotJudge: the sandbox failed (not the program).
    """
    from sandbox.judge import CannotJudge

    tc = toolchain()
    cache = cache or default_cache()
    key = tc.key(source)
    with cache.lock(key):
        hit = cache.binary(key)
        if hit is not None:
            return Build(hit)
        err = cache.error(key)
        if err is not None:
            return Build(None, err)
        pch = ensure_pch(tc)
        payload = {
            "argv": tc.argv(pch),
            "env": {"PATH": "/usr/bin:/bin", "LANG": "C", "LC_ALL": "C"},
            "source_name": SOURCE_NAME,
            "output_name": OUTPUT_NAME,
        }
        job = Job("compile", source, payload=json.dumps(payload).encode(), limits=limits, language="cpp")
        res = backend.execute(job)
        if res.status is Status.INFRA_ERROR:
            raise CannotJudge(f"sandbox failure while compiling: {res.detail}")
        if res.status is Status.OK and res.channel:
            path = cache.put_binary(key, res.channel)
            return Build(path, compiled=True, cpu_time=res.cpu_time, wall_time=res.wall_time)
        text = res.stderr.decode(errors="replace")
        if res.status is not Status.RUNTIME_ERROR:  # a compile limit was hit (not cached: limits may change)
            text += f"\n[compile {res.status.value}: {res.detail}]"
        elif "compiler killed by signal" not in text:
            cache.put_error(key, text[-DETAIL_CHARS:])
        return Build(
            None, text[-DETAIL_CHARS:], compiled=True, cpu_time=res.cpu_time, wall_time=res.wall_time
        )
