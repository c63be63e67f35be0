"""What every adapter shares: turning a rewards spec into terms, a picklable batch scorer, and the
per-term scores whose weighted sum equals the composition's total.

A *rewards spec* is any of:

* a registry name or comma list with optional weights: ``"math"``, ``"math,format:0.5"``;
* a path to a TOML file of ``[[reward]]`` tables (see `verifiers.compose`);
* a list of composition entries: ``[{"name": "math", "weight": 1.0, "params": {...}}, ...]``;
* a `Reward` object, a list of `Term` objects, or a `Composition`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from verifiers.compose import Composition, ScoredSample, Term, parse_rewards
from verifiers.errors import ConfigError
from verifiers.pool import WorkerPool
from verifiers.registry import Registry
from verifiers.types import Reward, Sample

__all__ = ["BatchScorer", "RewardsSpec", "effective_scores", "parse_rewards", "resolve_terms"]

RewardsSpec = str | Path | Sequence[Mapping[str, Any]] | Reward | Sequence[Term] | Composition
"""Anything an adapter accepts as "the rewards to compute" (see the module docstring)."""

PoolArg = WorkerPool | None | bool


def resolve_terms(rewards: RewardsSpec, *, registry: Registry | None = None) -> tuple[Term, ...]:
    """Validate a rewards spec now (unknown names and bad params raise `ConfigError`) and return its terms."""
    if isinstance(rewards, Composition):
        return rewards.terms
    if isinstance(rewards, Reward):
        return (Term(reward=rewards),)
    if isinstance(rewards, (str, Path)):
        entries: Sequence[Any] = parse_rewards(str(rewards))
    elif isinstance(rewards, Sequence) and rewards and all(isinstance(t, Term) for t in rewards):
        return tuple(rewards)  # type: ignore[arg-type]
    elif isinstance(rewards, Sequence):
        entries = rewards
    else:
        raise ConfigError(
            f"rewards must be a name list like 'math,format:0.5', a .toml path, a list of "
            f"{{name, weight, params}} entries, a Reward, or a Composition; got {type(rewards).__name__}"
        )
    return Composition.from_config(list(entries), registry=registry, pool=False).terms


def effective_scores(comp: Composition, scored: ScoredSample) -> dict[str, float | None]:
    """Per-term scores whose weighted NaN-skipping sum equals ``scored.reward`` (for hosts that sum themselves).

    Rules: a row whose total is None gets None for every term (the host then drops the row);
    a gated term whose gate failed gives 0.0; a None with ``on_none`` a number gives that number;
    a None with ``on_none="skip"`` stays None (skipped by the host's NaN-sum); weight-0 terms keep
    their raw score (logged, multiplied by 0).
    """
    if scored.reward is None:
        return {t.key: None for t in comp.terms}
    out: dict[str, float | None] = {}
    for term in comp.terms:
        score = scored.rewards[term.key]
        if term.weight != 0 and term.gate is not None:
            g = scored.rewards[term.gate]
            if g is None or g < term.gate_min:
                out[term.key] = 0.0
                continue
        if score is None and term.weight != 0 and not isinstance(term.on_none, str):
            score = float(term.on_none)
        out[term.key] = score
    return out


class BatchScorer:
    """Scores batches of samples with one `Composition`; picklable (the composition is rebuilt
    after unpickling, and a `WorkerPool` argument becomes the shared pool in the new process).

    The last batch's result is cached, so several host callables (one per term, as TRL wants)
    score each batch once: the first call computes every term, the others read the cache.

    Args:
        terms: the resolved terms (see `resolve_terms`).
        pool: the worker pool for heavy rewards (None: the shared pool; False: score inline).
    """

    def __init__(self, terms: Sequence[Term], *, pool: PoolArg = None) -> None:
        self.terms = tuple(terms)
        self.pool = pool
        self._comp: Composition | None = None
        self._lock = threading.Lock()
        self._cache_key: str | None = None
        self._cache: list[ScoredSample] | None = None

    @property
    def composition(self) -> Composition:
        if self._comp is None:
            self._comp = Composition(self.terms, pool=self.pool)
        return self._comp

    @property
    def keys(self) -> list[str]:
        return [t.key for t in self.terms]

    @property
    def weights(self) -> list[float]:
        return [t.weight for t in self.terms]

    def score(self, samples: Sequence[Sample], *, timeout: float | None = None) -> list[ScoredSample]:
        """Score `samples` (cached: the same batch twice in a row is scored once)."""
        key = repr(samples)
        with self._lock:
            if self._cache is not None and self._cache_key == key:
                return self._cache
            result = self.composition.submit(samples).result(timeout=timeout)
            self._cache_key, self._cache = key, result
            return result

    def __getstate__(self) -> dict[str, Any]:
        state = {"terms": self.terms, "pool": self.pool if isinstance(self.pool, bool) or self.pool is None else None}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["terms"], pool=state["pool"])  # type: ignore[misc]
