"""Rubric adapter for the `verifiers` RL-environments library (PrimeIntellect-ai/verifiers), whose
import name clashes with ours: install that library in another environment, or import this
adapter's functions before it shadows us. Not tested against the library itself (not installed
here); tested against its documented contract (``verifiers/rubrics/rubric.py``): a rubric calls
each reward function with the subset of ``prompt, completion, answer, state, task, info`` (and
``**kwargs``) its signature declares, once per rollout, and expects a ``float``; ``Rubric(funcs,
weights)`` sums them; a weight of 0 logs without rewarding; functions are logged by ``__name__``.

    import verifiers as vf                       # PrimeIntellect's library
    from verifiers.adapters.rubric import rubric_funcs   # ours, imported first (see above)

    funcs, weights = rubric_funcs("math,format:0.5")
    rubric = vf.Rubric(funcs=funcs, weights=weights)

``completion`` may be a message list (the last assistant message is scored); ``info`` keys
(``language``, ``tests``...) become record fields. The library wants a float, so a sample no
reward can judge scores ``none_score`` (default 0.0). Each rollout is its own group, so
group-scope rewards (which need a prompt's whole group) are refused here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifiers.adapters._common import BatchScorer, PoolArg, RewardsSpec, effective_scores, resolve_terms
from verifiers.errors import ConfigError, RecordError
from verifiers.registry import Registry
from verifiers.types import Sample

__all__ = ["RubricFunc", "rubric_funcs"]


class RubricFunc:
    """One rubric reward function (one term); picklable."""

    def __init__(self, scorer: BatchScorer, key: str, *, none_score: float = 0.0) -> None:
        self.scorer = scorer
        self.key = key
        self.none_score = float(none_score)
        self.__name__ = key

    def __call__(
        self, completion: Any, answer: Any = None, prompt: Any = None, info: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> float:
        record: dict[str, Any] = dict(info) if isinstance(info, Mapping) else {}
        record.update(completion=completion, prompt=prompt)
        if answer not in (None, ""):
            record["answer"] = answer
        try:
            sample = Sample.from_record(record)
        except ValueError as exc:
            raise RecordError(f"rubric function {self.key!r}: {exc}") from None
        scored = self.scorer.score([sample])[0]
        value = effective_scores(self.scorer.composition, scored)[self.key]
        return self.none_score if value is None else float(value)


def rubric_funcs(
    rewards: RewardsSpec, *, registry: Registry | None = None, pool: PoolArg = None, none_score: float = 0.0
) -> tuple[list[RubricFunc], list[float]]:
    """Rubric functions (one per term) and their weights, for ``Rubric(funcs=..., weights=...)``."""
    scorer = BatchScorer(resolve_terms(rewards, registry=registry), pool=pool)
    group = [t.key for t in scorer.terms if t.reward.scope == "group"]
    if group:
        raise ConfigError(f"group-scope rewards {group} need a whole prompt group; a rubric scores one rollout")
    return [RubricFunc(scorer, k, none_score=none_score) for k in scorer.keys], scorer.weights
