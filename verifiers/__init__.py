"""r1-verifiers: rule-based rewards for RL of reasoning LLMs (DeepSeek-R1 style).

Import name `verifiers`, distribution `r1-verifiers` (not PrimeIntellect's `verifiers`).
Importing this package loads no torch, sympy or langdetect: reward families load on first use.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from verifiers.compose import Composition, RewardStats, ScoredSample, ScoreJob, Term, load_config
from verifiers.errors import (
    ConfigError,
    DuplicateRewardError,
    PoolError,
    RecordError,
    TaskFailed,
    TaskTimeout,
    UnknownRewardError,
    VerifiersError,
    WorkerCrashed,
)

if _TYPE_CHECKING:
    from verifiers.pool import WorkerPool, get_pool, shutdown_pool
from verifiers.registry import REGISTRY, Registry, RewardSpec, create, get, names, register
from verifiers.types import Reason, Reward, RewardResult, Sample, Scope

__version__ = "0.1.0"

_LAZY = {"WorkerPool", "get_pool", "shutdown_pool"}  # the pool module loads multiprocessing: on first use


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from verifiers import pool

        return getattr(pool, name)
    raise AttributeError(f"module 'verifiers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)

__all__ = [
    "REGISTRY",
    "Composition",
    "ConfigError",
    "DuplicateRewardError",
    "PoolError",
    "Reason",
    "RecordError",
    "Registry",
    "Reward",
    "RewardResult",
    "RewardSpec",
    "RewardStats",
    "Sample",
    "Scope",
    "ScoreJob",
    "ScoredSample",
    "TaskFailed",
    "TaskTimeout",
    "Term",
    "UnknownRewardError",
    "VerifiersError",
    "WorkerCrashed",
    "WorkerPool",
    "__version__",
    "create",
    "get",
    "get_pool",
    "load_config",
    "names",
    "register",
    "shutdown_pool",
]
