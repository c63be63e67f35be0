"""The exception tree of `verifiers`.

    VerifiersError                      base of everything raised on purpose here
    ├── ConfigError(ValueError)         a bad option, parameter or composition config
    │   └── UnknownRewardError(KeyError) a reward name that is not registered
    ├── DuplicateRewardError(ValueError) two rewards registered under one name
    ├── RecordError(ValueError)         a malformed input record; names the file and line
    └── PoolError(RuntimeError)         the worker pool itself failed (not a task in it)
        ├── TaskTimeout                 a task ran past its deadline; its worker was killed
        ├── WorkerCrashed               a worker died while running a task
        └── TaskFailed                  the task raised; carries the remote type and message

Odd *model output* is never an exception: rewards return ``RewardResult(None, reason)``
or a score. Exceptions are for callers' mistakes and for infrastructure faults.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DuplicateRewardError",
    "PoolError",
    "RecordError",
    "TaskFailed",
    "TaskTimeout",
    "UnknownRewardError",
    "VerifiersError",
    "WorkerCrashed",
]


class VerifiersError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(VerifiersError, ValueError):
    """A reward parameter, composition entry or option is invalid."""


class UnknownRewardError(ConfigError, KeyError):
    """A reward name is not in the registry. The message lists close matches and all names."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class DuplicateRewardError(VerifiersError, ValueError):
    """Two rewards claim the same name; the message names both sources."""


class RecordError(VerifiersError, ValueError):
    """A malformed input record. ``path`` and ``line`` say where (1-based line)."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = f"{path}:{line}: " if path is not None and line is not None else ""
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line


class PoolError(VerifiersError, RuntimeError):
    """The supervised worker pool could not run a task."""


class TaskTimeout(PoolError):
    """A task ran past its deadline; the worker running it was killed and replaced."""


class WorkerCrashed(PoolError):
    """A worker process died (signal, OOM, ``os._exit``) while running a task."""


class TaskFailed(PoolError):
    """The task raised inside the worker. ``remote_type`` is the exception's class name."""

    def __init__(self, remote_type: str, message: str) -> None:
        super().__init__(f"{remote_type}: {message}")
        self.remote_type = remote_type
