"""Composition: several rewards, weighted and summed (as DeepSeek-R1 sums accuracy, format and
language consistency), scored in the shared worker pool, with per-reward metrics.

Config, as a Python list or a TOML file with ``[[reward]]`` tables::

    [[reward]]
    name = "math"            # registry name
    weight = 1.0             # 0 = computed and logged, not added to the total
    [[reward]]
    name = "format"
    weight = 0.5
    [[reward]]
    name = "cosine_length"
    weight = 0.2
    gate = "math"            # only added when the "math" term scored >= gate_min
    params = { max_length = 4096 }

Per-term policies:
    on_none   what a None ("cannot judge") does to the total: "propagate" (default: the total is
              None, the trainer leaves the sample out of the baseline), "skip" (adds nothing), or
              a number to use instead (e.g. 1.0 for `language` on a CoT with no words).
    on_error  "none" (default: the reward's exception becomes score None, reason "error") or
              "raise" (stop the run).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from verifiers.errors import ConfigError, TaskFailed, TaskTimeout, WorkerCrashed
from verifiers.registry import REGISTRY, Registry
from verifiers.types import Reason, Reward, RewardResult, Sample

if TYPE_CHECKING:  # the pool (multiprocessing, concurrent.futures) loads only when a heavy reward runs
    from concurrent.futures import Future
    from pathlib import Path

    from verifiers.pool import WorkerPool

__all__ = ["Composition", "RewardStats", "ScoreJob", "ScoredSample", "Term", "load_config", "parse_rewards"]

SCORES_KEY = "_scores"
"""Key in `Sample.extra` under which group-scope rewards find the sample-scope scores of the same record."""


@dataclass(frozen=True)
class Term:
    """One reward in a composition."""

    reward: Reward
    """The reward object (built from the registry)."""
    weight: float = 1.0
    """Multiplier in the weighted sum; 0 means log only."""
    key: str = ""
    """Name in outputs (default: the reward's registry name); lets one reward appear twice."""
    gate: str | None = None
    """Key of another term; this term is added only when that term's score >= `gate_min`."""
    gate_min: float = 1.0
    """Threshold for `gate`."""
    on_none: str | float = "propagate"
    """"propagate" | "skip" | a number: what a None score does to the total."""
    on_error: str = "none"
    """"none" | "raise": what an exception inside the reward does."""
    deadline: float | None = None
    """Seconds per pool task (default: the reward's `default_deadline`)."""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.reward.name or type(self.reward).__name__)
        if not math.isfinite(self.weight):
            raise ConfigError(f"term {self.key!r}: weight must be a finite number, got {self.weight!r}")
        if self.on_error not in ("none", "raise"):
            raise ConfigError(f"term {self.key!r}: on_error must be 'none' or 'raise', got {self.on_error!r}")
        if not (self.on_none in ("propagate", "skip") or isinstance(self.on_none, (int, float))):
            raise ConfigError(
                f"term {self.key!r}: on_none must be 'propagate', 'skip' or a number, got {self.on_none!r}"
            )


@dataclass
class ScoredSample:
    """Scores of one sample: per-term score, reason and info, plus the weighted total."""

    rewards: dict[str, float | None]
    reasons: dict[str, str]
    info: dict[str, Mapping[str, Any]]
    reward: float | None

    def to_record(self) -> dict[str, Any]:
        return {"rewards": self.rewards, "reasons": self.reasons, "reward": self.reward}


@dataclass
class RewardStats:
    """Running metrics of one term."""

    scores: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    n: int = 0
    n_none: int = 0
    n_error: int = 0
    n_timeout: int = 0

    def add(self, result: RewardResult, seconds: float | None) -> None:
        self.n += 1
        if result.score is None:
            self.n_none += 1
            if result.reason == Reason.TIMEOUT:
                self.n_timeout += 1
            elif result.reason in (Reason.ERROR, Reason.CRASH):
                self.n_error += 1
        else:
            self.scores.append(result.score)
        if seconds is not None:
            self.latencies.append(seconds)

    def summary(self) -> dict[str, float | int | None]:
        lat = sorted(self.latencies)
        return {
            "mean": _mean(self.scores) if self.scores else None,
            "std": _pstdev(self.scores) if self.scores else None,
            "count": self.n,
            "none": self.n_none,
            "errors": self.n_error,
            "timeouts": self.n_timeout,
            "latency_total_s": math.fsum(lat),
            "latency_p50_ms": 1e3 * _quantile(lat, 0.5) if lat else None,
            "latency_p99_ms": 1e3 * _quantile(lat, 0.99) if lat else None,
        }


def _mean(xs: list[float]) -> float:
    return math.fsum(xs) / len(xs)


def _pstdev(xs: list[float]) -> float:
    m = _mean(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / len(xs))


def _quantile(sorted_values: list[float], q: float) -> float:
    idx = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[idx]


def _timed_score(reward: Reward, sample: Sample) -> tuple[RewardResult, float]:
    """Run one sample-scope reward (in a worker or inline) and time it. Module-level: picklable."""
    t0 = time.perf_counter()
    missing = reward.missing(sample)
    result = missing if missing is not None else reward.score(sample)
    return result, time.perf_counter() - t0


class Composition:
    """A weighted sum of rewards.

    Args:
        terms: the rewards with weights and policies.
        pool: the worker pool for heavy rewards; None uses the shared pool (`get_pool`), False
            scores everything inline in the calling thread (no deadlines: for tests and debugging).
    """

    def __init__(self, terms: Sequence[Term], *, pool: WorkerPool | None | bool = None) -> None:
        if not terms:
            raise ConfigError("a composition needs at least one reward term")
        keys = [t.key for t in terms]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ConfigError(f"reward keys must be unique in a composition, repeated: {dupes}; set `key`")
        for t in terms:
            if t.gate is not None and t.gate not in keys:
                raise ConfigError(f"term {t.key!r} is gated on {t.gate!r}, which is not a term; terms: {keys}")
            if t.gate == t.key:
                raise ConfigError(f"term {t.key!r} cannot gate on itself")
        self.terms = tuple(terms)
        self._pool_arg = pool
        self._stats: dict[str, RewardStats] = defaultdict(RewardStats)
        self._stats_lock = threading.Lock()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_config(
        cls,
        config: Sequence[Mapping[str, Any]] | str | Path,
        *,
        registry: Registry | None = None,
        pool: WorkerPool | None | bool = None,
    ) -> Composition:
        """Build from a list of ``{name, weight, params, gate, gate_min, on_none, on_error, deadline, key}``
        dicts, or from a TOML file path holding ``[[reward]]`` tables."""
        entries = list(config) if isinstance(config, Sequence) and not isinstance(config, str) else load_config(config)
        reg = registry or REGISTRY
        allowed = {"name", "weight", "params", "gate", "gate_min", "on_none", "on_error", "deadline", "key"}
        terms = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or "name" not in entry:
                raise ConfigError(f"reward entry {i} must be a table with at least a 'name', got {entry!r}")
            extra = sorted(set(entry) - allowed)
            if extra:
                raise ConfigError(
                    f"reward entry {i} ({entry['name']!r}) has unknown key(s) {extra}; allowed: {sorted(allowed)}"
                )
            params = entry.get("params") or {}
            if not isinstance(params, Mapping):
                raise ConfigError(f"reward entry {i} ({entry['name']!r}): params must be a table, got {params!r}")
            reward = reg.create(entry["name"], **params)
            try:
                weight = float(entry.get("weight", 1.0))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"reward entry {i}: weight must be a number, got {entry.get('weight')!r}") from exc
            terms.append(
                Term(
                    reward=reward,
                    weight=weight,
                    key=str(entry.get("key", "")),
                    gate=entry.get("gate"),
                    gate_min=float(entry.get("gate_min", 1.0)),
                    on_none=entry.get("on_none", "propagate"),
                    on_error=entry.get("on_error", "none"),
                    deadline=entry.get("deadline"),
                )
            )
        return cls(terms, pool=pool)

    @property
    def weights(self) -> dict[str, float]:
        return {t.key: t.weight for t in self.terms}

    def _pool(self) -> WorkerPool | None:
        if self._pool_arg is False:
            return None
        if self._pool_arg not in (None, True):
            return self._pool_arg  # type: ignore[return-value]
        if any(t.reward.heavy and t.reward.scope == "sample" for t in self.terms):
            from verifiers.pool import get_pool

            return get_pool()
        return None

    # -- scoring ------------------------------------------------------------------------------
    def submit(self, samples: Sequence[Sample]) -> ScoreJob:
        """Start scoring `samples`: heavy rewards go to the pool now, cheap ones run now in this
        thread; group rewards and the totals are computed by `ScoreJob.result`. Returns at once
        for heavy rewards, so a trainer can generate the next chunk meanwhile."""
        pool = self._pool()
        pending: dict[str, list[Future[Any] | tuple[RewardResult, float | None]]] = {}  # tuple = done inline
        for term in self.terms:
            if term.reward.scope != "sample":
                continue
            row: list[Future[Any] | tuple[RewardResult, float | None]] = []
            for s in samples:
                if pool is not None and term.reward.heavy:
                    deadline = term.deadline or term.reward.default_deadline
                    row.append(pool.submit(_timed_score, term.reward, s, deadline=deadline))
                else:
                    row.append(self._inline(term, s))
            pending[term.key] = row
        return ScoreJob(self, list(samples), pending)

    def score(self, samples: Sequence[Sample]) -> list[ScoredSample]:
        """Score `samples` and wait for the result."""
        return self.submit(samples).result()

    def score_one(self, sample: Sample | Mapping[str, Any]) -> ScoredSample:
        s = sample if isinstance(sample, Sample) else Sample.from_record(sample)
        return self.score([s])[0]

    def _inline(self, term: Term, sample: Sample) -> tuple[RewardResult, float | None]:
        try:
            return _timed_score(term.reward, sample)
        except Exception as exc:
            if term.on_error == "raise":
                raise
            return RewardResult.cannot_judge(Reason.ERROR, error=f"{type(exc).__name__}: {exc}"), None

    def metrics(self, *, reset: bool = False) -> dict[str, dict[str, float | int | None]]:
        """Per-term mean, std, count, None/error/timeout counts, latency p50/p99 (ms) and the summed
        latency (CPU seconds spent scoring); `reset` starts the counts afresh (e.g. once per step)."""
        with self._stats_lock:
            out = {k: v.summary() for k, v in self._stats.items()}
            if reset:
                self._stats.clear()
        return out

    def _record(self, key: str, result: RewardResult, seconds: float | None) -> None:
        with self._stats_lock:
            self._stats[key].add(result, seconds)

    def total(self, results: Mapping[str, RewardResult]) -> float | None:
        """The weighted total of one sample's term results (see the module docstring for policies)."""
        total = 0.0
        for term in self.terms:
            if term.weight == 0:
                continue
            if term.gate is not None:
                g = results[term.gate].score
                if g is None or g < term.gate_min:
                    continue
            score = results[term.key].score
            if score is None:
                if term.on_none == "propagate":
                    return None
                if term.on_none == "skip":
                    continue
                score = float(term.on_none)
            total += term.weight * score
        return total


class ScoreJob:
    """Scores in flight for one batch; `result()` waits for them."""

    def __init__(
        self,
        comp: Composition,
        samples: list[Sample],
        pending: dict[str, list[Future[Any] | tuple[RewardResult, float | None]]],
    ) -> None:
        self._comp = comp
        self._samples = samples
        self._pending = pending
        self._result: list[ScoredSample] | None = None

    def done(self) -> bool:
        """True when no pool task of this job is still running."""
        return all(isinstance(x, tuple) or x.done() for row in self._pending.values() for x in row)

    def result(self, timeout: float | None = None) -> list[ScoredSample]:
        if self._result is not None:
            return self._result
        comp, samples = self._comp, self._samples
        end = None if timeout is None else time.monotonic() + timeout
        per_sample: list[dict[str, RewardResult]] = [{} for _ in samples]
        for term in comp.terms:
            if term.key not in self._pending:
                continue
            for i, item in enumerate(self._pending[term.key]):
                result, seconds = self._resolve(term, item, end)
                comp._record(term.key, result, seconds)
                per_sample[i][term.key] = result
        group_terms = [t for t in comp.terms if t.reward.scope == "group"]
        if group_terms:
            self._score_groups(group_terms, per_sample)
        out = []
        for results in per_sample:
            out.append(
                ScoredSample(
                    rewards={t.key: results[t.key].score for t in comp.terms},
                    reasons={t.key: results[t.key].reason for t in comp.terms},
                    info={t.key: dict(results[t.key].info) for t in comp.terms if results[t.key].info},
                    reward=comp.total(results),
                )
            )
        self._result = out
        return out

    def _resolve(
        self, term: Term, item: Future[Any] | tuple[RewardResult, float | None], end: float | None
    ) -> tuple[RewardResult, float | None]:
        if isinstance(item, tuple):
            return item
        try:
            left = None if end is None else max(0.0, end - time.monotonic())
            return item.result(timeout=left)  # type: ignore[no-any-return]
        except TaskTimeout as exc:  # the worker was killed and replaced: counted, never a silent 0.0
            return RewardResult.cannot_judge(Reason.TIMEOUT, error=str(exc)), None
        except WorkerCrashed as exc:
            if term.on_error == "raise":
                raise
            return RewardResult.cannot_judge(Reason.CRASH, error=str(exc)), None
        except TaskFailed as exc:
            if term.on_error == "raise":
                raise
            return RewardResult.cannot_judge(Reason.ERROR, error=str(exc).splitlines()[0]), None

    def _score_groups(self, terms: list[Term], per_sample: list[dict[str, RewardResult]]) -> None:
        groups: dict[Any, list[int]] = defaultdict(list)
        for i, s in enumerate(self._samples):
            groups[s.group_key()].append(i)
        for idx in groups.values():
            members = [
                replace(
                    self._samples[i],
                    extra={**self._samples[i].extra, SCORES_KEY: {k: r.score for k, r in per_sample[i].items()}},
                )
                for i in idx
            ]
            for term in terms:
                t0 = time.perf_counter()
                try:
                    results = term.reward.score_group(members)
                except Exception as exc:
                    if term.on_error == "raise":
                        raise
                    err = RewardResult.cannot_judge(Reason.ERROR, error=f"{type(exc).__name__}: {exc}")
                    results = [err] * len(members)
                dt = (time.perf_counter() - t0) / max(1, len(members))
                for i, r in zip(idx, results):
                    per_sample[i][term.key] = r
                    self._comp._record(term.key, r, dt)




def parse_rewards(text: str) -> list[dict[str, Any]]:
    """``"math,format:0.5"`` -> composition entries; a ``.toml`` path (or an existing file) is read.

    >>> parse_rewards("math,format:0.5")
    [{'name': 'math', 'weight': 1.0}, {'name': 'format', 'weight': 0.5}]
    """
    text = text.strip()
    if text.endswith(".toml") or (("/" in text or "\\" in text) and os.path.isfile(text)):
        return load_config(text)
    out: list[dict[str, Any]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition(":")
        try:
            out.append({"name": name.strip(), "weight": float(weight) if weight else 1.0})
        except ValueError:
            raise ConfigError(f"rewards spec: {part!r} should be NAME or NAME:WEIGHT (a number)") from None
    if not out:
        raise ConfigError("rewards spec is empty: give names like 'math,format:0.5' or a .toml file")
    return out


def load_config(path: str | Path) -> list[dict[str, Any]]:
    """Read ``[[reward]]`` tables from a TOML file."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from pathlib import Path

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"reward config {p} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"reward config {p} is not valid TOML: {exc}") from exc
    entries = data.get("reward")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"reward config {p} must hold one or more [[reward]] tables, found keys {sorted(data)}")
    return entries
