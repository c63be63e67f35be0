"""Host-trainer adapters: TRL ``reward_funcs``, verl ``compute_score``, OpenRLHF ``reward_func``,
and rubric functions for the `verifiers` environments library. None of them imports torch or the
host library at import time."""

from verifiers.adapters._common import (
    BatchScorer,
    RewardsSpec,
    effective_scores,
    parse_rewards,
    resolve_terms,
)
from verifiers.adapters.openrlhf import OpenRLHFReward, make_reward_func
from verifiers.adapters.rubric import RubricFunc, rubric_funcs
from verifiers.adapters.trl import TRLReward
from verifiers.adapters.trl import reward_funcs as trl_reward_funcs
from verifiers.adapters.verl import VerlReward

__all__ = [
    "BatchScorer",
    "OpenRLHFReward",
    "RewardsSpec",
    "RubricFunc",
    "TRLReward",
    "VerlReward",
    "effective_scores",
    "make_reward_func",
    "parse_rewards",
    "resolve_terms",
    "rubric_funcs",
    "trl_reward_funcs",
]
