"""Run untrusted (model-written) code in sandboxed child processes; the supervisor judges the results.

Quick use::

    from sandbox import get_backend, Program, StdioCase
    verdict = get_backend().run(Program("python", "print(int(input()) * 2)"), [StdioCase("21", "42")])
    verdict.all_passed, verdict.isolation    # (True, <Isolation.FULL: 'full'>)

`python -m sandbox probe` prints which isolation primitives work on this machine. Languages: Python,
and C++17 on stdio tests (``Program("cpp", source)``): compiled once in a sandboxed compile step under its
own policy, cached by source hash, the binary exec'd per test (`sandbox.cpp`), on both backends.
See `sandbox.embedded` for the threat model and `sandbox.judge` for where verdicts are made.
"""

from __future__ import annotations

import os
import threading

from sandbox.backend import Backend, BackendError
from sandbox.types import (
    AssertCase,
    CallCase,
    Isolation,
    Job,
    Limits,
    Program,
    RunResult,
    Status,
    StdioCase,
    TestCase,
    TestOutcome,
    Verdict,
)

__all__ = [
    "AssertCase",
    "Backend",
    "BackendError",
    "CallCase",
    "Isolation",
    "Job",
    "Limits",
    "Program",
    "RunResult",
    "Status",
    "StdioCase",
    "TestCase",
    "TestOutcome",
    "Verdict",
    "get_backend",
]

_lock = threading.Lock()
_backends: dict[tuple[int, str, bool], Backend] = {}


def get_backend(kind: str = "embedded", *, allow_unsafe: bool = False) -> Backend:
    """This process's shared backend, started on first use (a forked child gets its own).

    Args:
        kind: "embedded" (default, no Docker), "docker", or "auto" (Docker if an engine answers,
            else embedded).
        allow_unsafe: let the embedded backend run at level "none" when nothing stronger works.

    Raises:
        BackendError: the backend cannot start (the message says why and what to install).
    """
    key = (os.getpid(), kind, allow_unsafe)
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _create(kind, allow_unsafe)
            _backends[key] = backend
        return backend


def _create(kind: str, allow_unsafe: bool) -> Backend:
    if kind in ("docker", "auto"):
        try:
            from sandbox import docker_backend  # written separately; optional
        except ImportError as exc:
            if kind == "docker":
                raise BackendError(f"the Docker backend is not available: {exc}") from exc
        else:
            if kind == "auto" and not docker_backend.engine_available():
                from sandbox.embedded import EmbeddedBackend  # auto never starts an engine itself

                return EmbeddedBackend(allow_unsafe=allow_unsafe)
            try:
                return docker_backend.create_backend()
            except Exception as exc:  # noqa: BLE001  (auto falls back to embedded when no engine answers)
                if kind == "docker":
                    raise BackendError(f"the Docker backend could not start: {exc}") from exc
    elif kind != "embedded":
        raise BackendError(f"unknown sandbox backend {kind!r}; use 'embedded', 'docker' or 'auto'")
    from sandbox.embedded import EmbeddedBackend

    return EmbeddedBackend(allow_unsafe=allow_unsafe)
