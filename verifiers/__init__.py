"""r1-verifiers: rule-based rewards for RL of reasoning LLMs (DeepSeek-R1 style).

Import name `verifiers`, distribution `r1-verifiers` (not PrimeIntellect's `verifiers`).
Importing this package loads no torch, sympy or langdetect: reward families load on first use.
"""

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
from verifiers.pool import WorkerPool, get_pool, shutdown_pool
from verifiers.registry import REGISTRY, Registry, RewardSpec, create, get, names, register
from verifiers.types import Reason, Reward, RewardResult, Sample, Scope

__version__ = "0.1.0"

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
