"""verl adapter: registered rewards as verl's ``compute_score`` (per sample and batched).

verl's contract (``verl/utils/reward_score/__init__.py``, ``docs/preparation/reward_function.rst``,
``verl/workers/reward_manager/{naive,prime,batch}.py``): a per-sample
``compute_score(data_source, solution_str, ground_truth, extra_info=None, **reward_kwargs)``
returning a float or a dict with ``"score"`` (other keys are logged as ``reward_extra_info``; the
prime manager passes the four arguments by position); the batch manager calls
``compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=, **reward_kwargs)``
and expects one result per sample. ``reward_kwargs`` come from the config.

Config (Hydra overrides for ``python -m verl.trainer.main_ppo``)::

    custom_reward_function.path=$(python -c 'import verifiers.adapters.verl as m; print(m.__file__)')
    custom_reward_function.name=compute_score             # or compute_score_batch with
                                                          # reward_model.reward_manager=batch
    +custom_reward_function.reward_kwargs.rewards='math,format:0.5'

or, per data source (a mapping; ``"*"`` is the fallback)::

    +custom_reward_function.reward_kwargs.rewards='{openai/gsm8k: "math,format:0.5", codecontests: code}'

Each result is ``{"score": total, "<term>": term score, ..., "judged": 1.0|0.0, "reason": "...",
"pred": extracted answer}``. verl needs a number for every sample, so a sample our rewards cannot
judge scores ``none_score`` (default 0.0) with ``judged`` 0.0 and the reason logged: filter on
``judged`` rather than reading that 0.0 as "wrong". Term scores that are None are logged as NaN.

``ground_truth`` becomes the record's ``answer``, or its ``tests`` (JSON text is parsed) when the
rewards need tests and not an answer; ``extra_info`` keys (``language``, ``index``...) become
record fields. The batched variant groups samples by ``extra_info["index"]`` (the prompt's row),
so group-scope rewards see a prompt's whole group; per-sample calls give groups of one.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from verifiers.adapters._common import BatchScorer, PoolArg, RewardsSpec, resolve_terms
from verifiers.compose import ScoredSample
from verifiers.errors import ConfigError, RecordError
from verifiers.registry import Registry
from verifiers.types import Sample

__all__ = ["VerlReward", "compute_score", "compute_score_batch"]

FALLBACK = "*"
"""Key of the fallback entry in a data_source -> rewards mapping."""

_PRED_KEYS = ("extracted", "pred", "prediction", "answer")


class VerlReward:
    """verl ``compute_score`` for a data_source -> rewards mapping; picklable.

    Args:
        rewards: one rewards spec for every data source, or a mapping data_source -> spec
            (``"*"`` for the rest).
        registry: where names are looked up (default: the package registry).
        pool: worker pool for heavy rewards (None: the shared pool; False: inline).
        none_score: the score verl gets for a sample no reward could judge (logged with judged=0).
        ground_truth_field: record field for ``ground_truth``; None picks ``tests`` when the
            rewards require tests and not an answer, else ``answer``.
    """

    def __init__(
        self,
        rewards: RewardsSpec | Mapping[str, RewardsSpec],
        *,
        registry: Registry | None = None,
        pool: PoolArg = None,
        none_score: float = 0.0,
        ground_truth_field: str | None = None,
    ) -> None:
        if isinstance(rewards, Mapping):
            if not rewards:
                raise ConfigError("rewards by data source is empty; give at least one data_source -> rewards entry")
            specs = dict(rewards)
        else:
            specs = {FALLBACK: rewards}
        self.scorers = {src: BatchScorer(resolve_terms(spec, registry=registry), pool=pool) for src, spec in specs.items()}
        self.none_score = float(none_score)
        self.ground_truth_field = ground_truth_field
        keys: list[str] = []
        for scorer in self.scorers.values():
            keys += [k for k in scorer.keys if k not in keys]
        self.term_keys = keys
        """Every term key over all data sources: each result carries all of them (NaN where absent),
        because verl's reward_extra_info needs the same keys for every sample."""

    def scorer_for(self, data_source: str) -> BatchScorer:
        scorer = self.scorers.get(data_source) or self.scorers.get(FALLBACK)
        if scorer is None:
            raise ConfigError(
                f"no rewards configured for data_source {data_source!r}; configured: {sorted(self.scorers)}. "
                f"Add an entry for it or a '{FALLBACK}' fallback"
            )
        return scorer

    def __call__(
        self, data_source: str, solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        return self.batch([data_source], [solution_str], [ground_truth], [extra_info])[0]

    def batch(
        self,
        data_sources: Sequence[str],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[dict[str, Any]]:
        """Score a batch; samples of different data sources go to their own compositions."""
        n = len(solution_strs)
        infos = list(extra_infos) if extra_infos is not None else [None] * n
        if not (len(data_sources) == len(ground_truths) == len(infos) == n):
            raise RecordError(
                f"verl batch lengths differ: {len(data_sources)} data_sources, {n} solution_strs, "
                f"{len(ground_truths)} ground_truths, {len(infos)} extra_infos"
            )
        by_scorer: dict[int, list[int]] = {}
        scorers: dict[int, BatchScorer] = {}
        for i, src in enumerate(data_sources):
            scorer = self.scorer_for(_plain(src))
            scorers[id(scorer)] = scorer
            by_scorer.setdefault(id(scorer), []).append(i)
        out: list[dict[str, Any]] = [{} for _ in range(n)]
        for sid, idx in by_scorer.items():
            scorer = scorers[sid]
            samples = [self._sample(scorer, data_sources[i], solution_strs[i], ground_truths[i], infos[i], i) for i in idx]
            for i, scored in zip(idx, scorer.score(samples)):
                out[i] = self._result(scored)
        return out

    def _sample(self, scorer: BatchScorer, source: Any, solution: Any, truth: Any, info: Any, row: int) -> Sample:
        if not isinstance(solution, str):
            raise RecordError(f"verl row {row}: solution_str must be the decoded response text, got {type(solution).__name__}")
        info = _plain(info)
        if info is not None and not isinstance(info, Mapping):
            raise RecordError(f"verl row {row}: extra_info must be a dict or None, got {type(info).__name__}")
        record: dict[str, Any] = {k: _plain(v) for k, v in (info or {}).items() if k != "completion"}
        field = self.ground_truth_field or _truth_field(scorer)
        truth = _plain(truth)
        if field == "tests" and isinstance(truth, str) and truth.lstrip()[:1] in ("{", "["):
            try:
                truth = json.loads(truth)
            except json.JSONDecodeError as exc:
                raise RecordError(f"verl row {row}: ground_truth looks like JSON tests but does not parse: {exc}") from None
        if truth is not None:
            record[field] = truth
        record["completion"] = solution
        record.setdefault("data_source", _plain(source))
        if "group" not in record and "index" in record:
            record["group"] = record["index"]
        try:
            return Sample.from_record(record)
        except ValueError as exc:
            raise RecordError(f"verl row {row}: {exc}") from None

    def _result(self, scored: ScoredSample) -> dict[str, Any]:
        judged = scored.reward is not None
        result: dict[str, Any] = {"score": scored.reward if judged else self.none_score}
        for key in self.term_keys:
            value = scored.rewards.get(key)
            result[key] = math.nan if value is None else float(value)
        result["judged"] = 1.0 if judged else 0.0
        result["reason"] = ";".join(f"{k}={r}" for k, r in scored.reasons.items())
        result["pred"] = _pred(scored)
        return result


def _truth_field(scorer: BatchScorer) -> str:
    needs = {f for t in scorer.terms for f in t.reward.requires}
    return "tests" if "tests" in needs and "answer" not in needs else "answer"


def _pred(scored: ScoredSample) -> str:
    for info in scored.info.values():
        for key in _PRED_KEYS:
            value = info.get(key)
            if value is not None:
                return str(value)
    return ""


def _plain(value: Any) -> Any:
    """numpy scalars/arrays (verl's non_tensor_batch holds object arrays) to plain Python."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) and not isinstance(value, (str, bytes)) else value


# -- module-level functions for verl's custom_reward_function ---------------------------------
_cache: dict[str, VerlReward] = {}
_cache_lock = threading.Lock()


def _reward_for(rewards: Any, none_score: float, ground_truth_field: str | None) -> VerlReward:
    if rewards is None:
        raise ConfigError(
            "verl reward_kwargs must name the rewards: +custom_reward_function.reward_kwargs.rewards='math,format:0.5' "
            "(or a data_source -> rewards mapping)"
        )
    if hasattr(rewards, "items") and not isinstance(rewards, Mapping):  # an OmegaConf DictConfig
        rewards = dict(rewards.items())
    key = repr((rewards, none_score, ground_truth_field))
    with _cache_lock:
        reward = _cache.get(key)
        if reward is None:
            reward = _cache[key] = VerlReward(rewards, none_score=none_score, ground_truth_field=ground_truth_field)
        return reward


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    rewards: str | Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    none_score: float = 0.0,
    ground_truth_field: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl per-sample reward: ``{"score": total, "<term>": ..., "judged", "reason", "pred"}``.

    Args:
        data_source: the row's ``data_source``; selects the rewards when `rewards` is a mapping.
        solution_str: the decoded response.
        ground_truth: ``reward_model.ground_truth`` of the row (answer, or code tests).
        extra_info: the row's ``extra_info`` dict (``language``, ``index``...), or None.
        rewards: from ``reward_kwargs``: a rewards spec, or a data_source -> spec mapping.
        none_score: score given to a sample that cannot be judged (flagged by ``judged`` = 0.0).
        ground_truth_field: record field for ``ground_truth`` (default: chosen from the rewards).
        kwargs: other verl arguments (e.g. ``sandbox_fusion_url``), ignored.
    """
    reward = _reward_for(rewards, none_score, ground_truth_field)
    return reward(data_source, solution_str, ground_truth, extra_info)


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    *,
    rewards: str | Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    none_score: float = 0.0,
    ground_truth_field: str | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """verl batch-manager reward (``reward_model.reward_manager=batch``): one dict per sample, as
    `compute_score`; heavy rewards of the whole batch run in parallel in the worker pool."""
    reward = _reward_for(rewards, none_score, ground_truth_field)
    return reward.batch(data_sources, solution_strs, ground_truths, extra_infos)
