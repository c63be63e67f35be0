"""Request and result types shared by every sandbox backend and by the supervisor.

Vocabulary:

* A `Program` is untrusted code (a model's completion after extraction).
* A test case (`StdioCase`, `CallCase`, `AssertCase`) is trusted data: inputs AND expected outputs.
  Test cases stay in the supervisor; they never enter a process that runs a `Program`.
* A `Job` is ONE execution in a fresh sandboxed child. It carries the code and one input, never an
  expected output. A backend turns a `Job` into a `RunResult`; it never judges.
* The supervisor (`sandbox.judge`) turns `RunResult`s into `TestOutcome`s and a `Verdict`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AssertCase",
    "CallCase",
    "Isolation",
    "Job",
    "JobMode",
    "Limits",
    "Program",
    "RunResult",
    "Status",
    "StdioCase",
    "TestCase",
    "TestOutcome",
    "Verdict",
]

JobMode = Literal["script", "call", "check", "compile", "native"]
"""What the child does with a `Job`:

* ``script``: run `Job.source` as ``__main__`` with `Job.stdin` on fd 0 (stdin/stdout problems).
* ``call``: run `Job.source` as a module named ``solution``, call ``entry_point(*args, **kwargs)`` from the
  JSON `Job.payload` ``{"entry_point": str, "args": <canonical>, "kwargs": <canonical>}`` and write the
  canonical encoding of the return value (`sandbox.canonical`) to the result channel.
* ``check``: run TRUSTED test code (an assert-style ``check``) against candidate answers given in the
  payload; never contains candidate code. See `sandbox.judge` for the replay protocol.
* ``compile``: compile the C++ `Job.source` with the argv in the JSON payload (seccomp policy "compile");
  the binary comes back on the result channel (see `sandbox.cpp`).
* ``native``: exec the compiled binary at `Job.binary` (opened read-only by the backend, exec'd by
  descriptor) with `Job.stdin` on fd 0 (seccomp policy "native").
"""


class Status(str, enum.Enum):
    """How one execution ended (the backend's word; the supervisor decides pass/fail)."""

    OK = "ok"
    """Exited with status 0 within every limit."""
    RUNTIME_ERROR = "runtime_error"
    """Non-zero exit or an uncaught exception (including a bad result record)."""
    TIMEOUT = "timeout"
    """CPU time over the limit, or the wall-clock backstop fired."""
    MEMORY = "memory"
    """Address-space limit hit (MemoryError) or peak RSS over the limit."""
    OUTPUT_LIMIT = "output_limit"
    """stdout (or the result channel) reached its cap; the output was cut."""
    KILLED = "killed"
    """Ended by a signal that is not one of the limits above (e.g. SIGSEGV, SIGABRT)."""
    COMPILE_ERROR = "compile_error"
    """The program did not compile (syntax error in Python, compiler error in C++)."""
    INFRA_ERROR = "infra_error"
    """The sandbox itself failed (zygote died, protocol error): the run says nothing about the code."""


class Isolation(str, enum.Enum):
    """Isolation level an execution actually ran at (reported with every result).

    Levels, strongest first (see `sandbox.probe`):
    """

    FULL = "full"
    """L3: pid/net/mount/ipc/uts namespaces with a read-only minimal root, a uid per slot, seccomp, rlimits."""
    CONTAINER = "container"
    """Docker backend: a locked-down container, inside it a uid per slot, seccomp and rlimits."""
    SECCOMP = "seccomp"
    """L1: seccomp filter (no network, no fork/exec, no ptrace) and rlimits (and a uid per slot when root)."""
    NONE = "none"
    """L0: rlimits only. Refused unless the caller opts in with ``allow_unsafe=True``."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one execution."""

    cpu_time_s: float = 2.0
    """CPU seconds (user+system) the child may use; the TIMEOUT verdict is decided on CPU time."""
    wall_time_s: float | None = None
    """Wall-clock backstop; None means ``2 * cpu_time_s + 1`` (load must not flip verdicts)."""
    memory_mb: int = 512
    """Address-space limit (RLIMIT_AS) of the child, MiB."""
    output_bytes: int = 1 << 20
    """Cap on stdout and on each file the child writes (RLIMIT_FSIZE); reaching it gives OUTPUT_LIMIT."""
    open_files: int = 32
    """RLIMIT_NOFILE."""
    threads: int = 8
    """RLIMIT_NPROC for the child's uid (threads count; fork is denied by seccomp anyway)."""

    def __post_init__(self) -> None:
        if not self.cpu_time_s > 0:
            raise ValueError(f"Limits.cpu_time_s must be > 0 seconds, got {self.cpu_time_s}")
        if self.wall_time_s is not None and not self.wall_time_s > 0:
            raise ValueError(f"Limits.wall_time_s must be > 0 seconds or None, got {self.wall_time_s}")
        if self.memory_mb < 32:
            raise ValueError(
                f"Limits.memory_mb must be >= 32 (the interpreter needs it), got {self.memory_mb}"
            )
        if self.output_bytes < 1:
            raise ValueError(f"Limits.output_bytes must be >= 1, got {self.output_bytes}")

    @property
    def wall(self) -> float:
        """The wall-clock backstop actually used (derived)."""
        return self.wall_time_s if self.wall_time_s is not None else 2.0 * self.cpu_time_s + 1.0


@dataclass(frozen=True)
class Program:
    """Untrusted code to run."""

    language: str
    """"python" or "cpp" (C++17, stdio tests only; see `sandbox.cpp`)."""
    source: str
    """The program text."""


@dataclass(frozen=True)
class StdioCase:
    """Feed `input` on stdin; the supervisor compares stdout with `output`."""

    input: str
    output: str
    float_tol: float | None = None
    """Tokens that both parse as floats compare with this absolute/relative tolerance (None: exact)."""
    case_insensitive: bool = False
    """Compare tokens case-folded (e.g. YES/yes problems)."""


@dataclass(frozen=True)
class CallCase:
    """Call ``entry_point(*args, **kwargs)``; the supervisor compares the canonical result with `expected`."""

    args: tuple[Any, ...]
    expected: Any
    kwargs: dict[str, Any] = field(default_factory=dict)
    float_tol: float | None = None
    entry_point: str = ""
    """Name of the function to call (required; the `code` reward fills it from the tests record)."""


@dataclass(frozen=True)
class AssertCase:
    """HumanEval/MBPP style: trusted `test` code with asserts over calls of the candidate.

    `test` either defines ``check(candidate)`` (HumanEval) or is a block of module-level asserts that
    call `entry_point` by name (MBPP). `prelude` is trusted code run before it in the checker (e.g. the
    HumanEval prompt, which defines helpers such as ``poly``); it never runs with candidate code.
    """

    test: str
    entry_point: str
    prelude: str = ""


TestCase = StdioCase | CallCase | AssertCase


@dataclass(frozen=True)
class Job:
    """One execution in a fresh sandboxed child. Holds no expected output, by construction."""

    mode: JobMode
    source: str
    stdin: bytes = b""
    payload: bytes = b""
    """Mode-specific JSON (see `JobMode`)."""
    limits: Limits = field(default_factory=Limits)
    language: str = "python"
    binary: str | None = None
    """``native`` mode: path of the compiled binary (in the supervisor's private cache)."""


@dataclass(frozen=True)
class RunResult:
    """What happened in one execution. Facts only; no verdict."""

    status: Status
    exit_code: int | None = None
    """Exit status, or None when killed by a signal."""
    signal: int | None = None
    stdout: bytes = b""
    """At most `Limits.output_bytes` bytes."""
    stderr: bytes = b""
    """The last few KiB of stderr (for reasons shown to humans; never parsed for verdicts)."""
    channel: bytes = b""
    """The result channel (call/check modes): a canonical JSON record written by the harness."""
    cpu_time: float = 0.0
    """User + system CPU seconds of the child."""
    wall_time: float = 0.0
    max_rss_kb: int = 0
    isolation: Isolation = Isolation.NONE
    detail: str = ""
    """Human-readable note (why infra failed, which limit fired)."""


@dataclass(frozen=True)
class TestOutcome:
    """The supervisor's judgement of one test case."""

    passed: bool
    status: Status
    reason: str
    """"ok", "wrong_answer", "timeout", "runtime_error", ... or "skipped" after an early stop."""
    cpu_time: float = 0.0
    wall_time: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """All test cases of one program."""

    outcomes: tuple[TestOutcome, ...]
    isolation: Isolation
    total: int
    infra_error: str | None = None
    """Set when the sandbox failed: the verdict cannot be trusted and the reward must be None."""
    compile_error: str | None = None
    """Compiler messages (tail) when a C++ program did not compile: every test failed (the program's fault)."""

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def all_passed(self) -> bool:
        return self.infra_error is None and self.total > 0 and self.passed == self.total

    @property
    def fraction(self) -> float:
        return self.passed / self.total if self.total else 0.0
