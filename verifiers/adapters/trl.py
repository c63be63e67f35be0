"""TRL adapter: registered rewards as `GRPOTrainer` ``reward_funcs``.

    from trl import GRPOConfig, GRPOTrainer
    from verifiers.adapters.trl import reward_funcs

    funcs, weights = reward_funcs("math,format:0.5")          # one callable per term
    args = GRPOConfig(..., reward_weights=weights)
    trainer = GRPOTrainer(model=..., reward_funcs=funcs, args=args, train_dataset=ds)

TRL calls each function as ``f(prompts=, completions=, completion_ids=, **columns, trainer_state=,
log_extra=, log_metric=)`` (trl ``trainer/grpo_trainer.py``, ``_calculate_rewards``; the columns are
every dataset column but ``prompt``), expects one ``float | None`` per completion (None -> NaN:
"does not apply"), and logs each function under its ``__name__`` (``rewards/<name>/mean``).

Dataset columns map to record fields by name (``answer``, ``tests``, ``language``, ``group``...;
any other column reaches rewards through ``Sample.extra``); rename with ``columns={"answer":
"solution"}``. Conversational completions (lists of messages) are scored on the last assistant
message. The per-term callables share one scorer, so a batch is scored once for all terms, and
TRL's weighted NaN-sum of their outputs equals the composition's total exactly (gates, ``on_none``
numbers and log-only terms included; a row whose total is None is None for every term, which TRL
treats as "unscorable": advantage 0). For the total as one column use `reward_func` instead.

Every callable is a picklable object (not a closure), so TRL may copy it to other processes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from verifiers.adapters._common import BatchScorer, PoolArg, RewardsSpec, effective_scores, resolve_terms
from verifiers.errors import RecordError
from verifiers.registry import Registry
from verifiers.types import Sample

__all__ = ["TRAINER_KWARGS", "TRLReward", "reward_func", "reward_funcs", "to_samples"]

TRAINER_KWARGS = frozenset({"trainer_state", "log_extra", "log_metric", "environments"})
"""Keyword arguments TRL adds that are not dataset columns (never passed to rewards)."""


def to_samples(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    completion_ids: Sequence[Sequence[int]] | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    **dataset_columns: Sequence[Any],
) -> list[Sample]:
    """Turn TRL's batched keyword arguments into `Sample` records.

    Args:
        prompts: B prompts (strings or message lists).
        completions: B completions (strings or ``[{"role": "assistant", "content": ...}]``).
        completion_ids: B token-id lists, or None.
        columns: record field -> dataset column name, for datasets whose columns are named differently.
        dataset_columns: each dataset column as a list of B values; TRL's own extras are ignored.

    Returns:
        B samples. Raises `RecordError` (naming the row and the column) on a value of the wrong type.
    """
    n = len(completions)
    if len(prompts) != n:
        raise RecordError(f"TRL passed {len(prompts)} prompts for {n} completions; they must pair up one to one")
    rename = {col: field for field, col in (columns or {}).items()}
    cols = {}
    for name, values in dataset_columns.items():
        if name in TRAINER_KWARGS:
            continue
        if not isinstance(values, Sequence) or isinstance(values, str) or len(values) != n:
            got = len(values) if isinstance(values, Sequence) else type(values).__name__
            raise RecordError(f"dataset column {name!r} should hold one value per completion ({n}), got {got}")
        cols[rename.get(name, name)] = values
    out = []
    for i in range(n):
        record = {k: v[i] for k, v in cols.items()}
        record["prompt"] = prompts[i]
        record["completion"] = completions[i]
        if completion_ids is not None and completion_ids[i] is not None:
            record["completion_ids"] = [int(t) for t in completion_ids[i]]
        try:
            out.append(Sample.from_record(record))
        except ValueError as exc:
            raise RecordError(f"TRL batch row {i}: {exc}") from None
    return out


class TRLReward:
    """One TRL reward function: the score of one term (or the composition's total).

    Args:
        scorer: the shared `BatchScorer`.
        key: the term to return; None returns the weighted total.
        name: the ``__name__`` TRL logs under (default: the term key, or the keys joined by ``+``).
        columns: record field -> dataset column name (see `to_samples`).
        log_reasons: add a ``<name>_reason`` column to TRL's completions table (via ``log_extra``).
    """

    def __init__(
        self,
        scorer: BatchScorer,
        *,
        key: str | None = None,
        name: str | None = None,
        columns: Mapping[str, str] | None = None,
        log_reasons: bool = True,
    ) -> None:
        if key is not None and key not in scorer.keys:
            raise KeyError(f"no term {key!r} in this composition; terms: {scorer.keys}")
        self.scorer = scorer
        self.key = key
        self.__name__ = name or key or "+".join(scorer.keys)
        self.columns = dict(columns or {})
        self.log_reasons = log_reasons

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        samples = to_samples(prompts, completions, completion_ids, columns=self.columns, **kwargs)
        scored = self.scorer.score(samples)
        if self.key is None:
            values = [s.reward for s in scored]
            reasons = [";".join(f"{k}={r}" for k, r in s.reasons.items()) for s in scored]
        else:
            comp = self.scorer.composition
            values = [effective_scores(comp, s)[self.key] for s in scored]
            reasons = [s.reasons[self.key] for s in scored]
        log_extra = kwargs.get("log_extra")
        if self.log_reasons and callable(log_extra):
            log_extra(f"{self.__name__}_reason", reasons)
        return values

    def __repr__(self) -> str:
        return f"TRLReward({self.__name__!r}, key={self.key!r})"


def reward_funcs(
    rewards: RewardsSpec,
    *,
    registry: Registry | None = None,
    pool: PoolArg = None,
    columns: Mapping[str, str] | None = None,
    log_reasons: bool = True,
) -> tuple[list[TRLReward], list[float]]:
    """One TRL reward function per term, and the weights for ``GRPOConfig(reward_weights=...)``.

    Args:
        rewards: a rewards spec (``"math,format:0.5"``, a TOML path, config entries, a Composition).
        registry: where names are looked up (default: the package registry).
        pool: worker pool for heavy rewards (None: the shared pool; False: inline, no deadlines).
        columns: record field -> dataset column name, e.g. ``{"answer": "solution"}``.
        log_reasons: log each term's reason code as a column of TRL's completions table.

    Returns:
        ``(funcs, weights)``: pass ``funcs`` as ``reward_funcs`` and ``weights`` as ``reward_weights``.
    """
    scorer = BatchScorer(resolve_terms(rewards, registry=registry), pool=pool)
    funcs = [TRLReward(scorer, key=k, columns=columns, log_reasons=log_reasons) for k in scorer.keys]
    return funcs, scorer.weights


def reward_func(
    rewards: RewardsSpec,
    *,
    name: str | None = None,
    registry: Registry | None = None,
    pool: PoolArg = None,
    columns: Mapping[str, str] | None = None,
    log_reasons: bool = True,
) -> TRLReward:
    """One TRL reward function returning the composition's weighted total (use weight 1.0 for it).

    Args are as for `reward_funcs`; `name` sets the logged ``__name__`` (default: keys joined by ``+``).
    """
    scorer = BatchScorer(resolve_terms(rewards, registry=registry), pool=pool)
    return TRLReward(scorer, key=None, name=name, columns=columns, log_reasons=log_reasons)
