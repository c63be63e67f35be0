"""The backend interface, and what a backend must (and must not) do.

Principle: **the verdict is never computed where untrusted code runs, and no process that untrusted
code can reach holds an expected output.** A backend only executes; the supervisor judges.

To implement a backend (e.g. `sandbox.docker_backend`), subclass `Backend` and provide:

``isolation``
    The `Isolation` level executions actually run at (probe it at start-up; do not claim more). Copy it
    into every `RunResult.isolation`.

``execute(job) -> RunResult``
    Run ONE `Job` in a fresh child and report facts: status, exit code / signal, stdout (capped at
    ``job.limits.output_bytes``), stderr tail, the result channel, CPU and wall time, peak RSS.
    Requirements:

    * A fresh child per job: no state (files, globals, processes) survives from one job to the next.
    * No network, a read-only system, a private empty scratch directory as cwd, a cleared environment,
      rlimits from ``job.limits``, and an unprivileged uid (rlimits on processes are ignored for root).
    * TIMEOUT is decided on CPU time (``cpu_time > limits.cpu_time_s``); the wall clock
      (``limits.wall``) is only a backstop that kills a sleeper.
    * Output is read through capped buffers: never buffer unbounded output in the supervisor, never
      deadlock on a full pipe.
    * User-code failure is a `RunResult` with a status, never an exception. A failure of the sandbox
      itself (engine gone, protocol error) is ``Status.INFRA_ERROR`` with a `detail`: the supervisor turns it
      into "cannot judge" (reward None), never into a wrong answer.
    * Job modes ``script``, ``call`` and ``check`` must behave exactly as the embedded backend's harness
      (`sandbox/_zygote.py`). The simplest correct Docker backend runs that same zygote script inside a
      long-lived container and speaks its protocol (one SOCK_SEQPACKET message per job, carrying five
      memfds by SCM_RIGHTS; see the `_zygote` docstring) over a unix socket shared with the container;
      `sandbox.embedded.ZygoteClient` is the client side.
    * Safe to call from several threads at once (the supervisor runs tests of different programs in
      parallel); running more jobs at a time than cores is pointless.

``close()``
    Stop every process the backend started. Also make sure that killing the supervisor's process group
    (what `verifiers.pool.WorkerPool` does to a hung worker) leaves no sandbox process behind.

Everything else (comparing outputs, canonical values, assert rewriting, early stop, scoring) is the
supervisor's and shared: `Backend.run` calls `sandbox.judge.judge`, which only uses `execute`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sandbox.types import Isolation, Job, Limits, Program, RunResult, Status, TestCase, Verdict

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["LANGUAGES", "Backend", "BackendError", "refuse"]

LANGUAGES = ("python", "cpp")
"""Languages every backend runs."""


class BackendError(RuntimeError):
    """The sandbox could not be started or refused to run (e.g. no isolation and no opt-in)."""


class Backend(abc.ABC):
    """Runs jobs in sandboxed children. Subclasses implement `execute` and `close`."""

    isolation: Isolation = Isolation.NONE
    """The level executions run at; every `RunResult` repeats it."""
    name: str = "abstract"
    """Short backend name for logs and benchmark tables ("embedded", "docker")."""

    @abc.abstractmethod
    def execute(self, job: Job) -> RunResult:
        """Run one job in a fresh child; return what happened (never raises for user-code failure)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop every process this backend started. Idempotent."""

    @property
    def parallelism(self) -> int:
        """How many jobs may usefully run at once (e.g. the number of warm workers)."""
        return 1

    def run(
        self,
        program: Program,
        cases: Sequence[TestCase],
        *,
        limits: Limits | None = None,
        all_pass: bool = False,
    ) -> Verdict:
        """Judge `program` on `cases` (the supervisor side; shared by every backend).

        Args:
            program: the untrusted code.
            cases: trusted test cases with expected outputs (they never leave this process, except
                assert-style test code, which runs alone in its own sandboxed checker child).
            limits: per-execution limits (default `Limits()`).
            all_pass: stop at the first failure (the remaining cases are reported as "skipped").

        Returns:
            a `Verdict`; ``verdict.infra_error`` is set when the sandbox failed.
        """
        from sandbox.judge import judge

        return judge(self, program, cases, limits=limits or Limits(), all_pass=all_pass)

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def refuse(job: Job, *, closed: bool, isolation: Isolation) -> RunResult | None:
    """The infra-error result a backend returns without running `job` (backend closed, language not
    supported), or None when the job may run."""
    if closed:
        return RunResult(Status.INFRA_ERROR, isolation=isolation, detail="backend closed")
    if job.language not in LANGUAGES:
        return RunResult(
            Status.INFRA_ERROR, isolation=isolation, detail=f"language {job.language!r} not supported"
        )
    return None
