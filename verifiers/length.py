"""Length rewards: Kimi k1.5 group-relative length, cosine length scaling, DAPO soft overlong punishment.

Units. A length is counted in **tokens** (``len(completion_ids)``) when the sample carries token ids,
else in characters where the reward allows it; ``info["unit"]`` always says which. The budget
rewards (``cosine_length``, ``overlong``) take ``unit="tokens"`` by default and return None
(``missing_field``) without ids rather than comparing characters with a token budget (the
ms-swift #3353 bug); pass ``unit="chars"`` to budget characters on purpose.

Correctness. ``length`` and ``cosine_length`` need to know whether each answer is right. They read,
in order: ``sample.extra["_scores"][correct_from]`` (the score of another term of the same
`Composition`, e.g. ``"math"``; correct iff ``>= correct_min``), then a record field ``correct``
(bool, or a number compared with ``correct_min``). Both rewards are **group scope** so that a
`Composition` hands them the ``_scores`` of the sample-scope terms; both also work on their own
with the ``correct`` field. Unknown correctness gives that sample None, reason
``correctness_unknown`` — never a guess.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from verifiers.errors import ConfigError
from verifiers.registry import register
from verifiers.types import Reason, Reward, RewardResult, Sample, Scope

__all__ = [
    "CORRECTNESS_UNKNOWN",
    "CosineLengthReward",
    "KimiLengthReward",
    "OverlongReward",
    "cosine_length_reward",
    "kimi_length_rewards",
    "overlong_penalty",
    "sample_correct",
]

CORRECTNESS_UNKNOWN = "correctness_unknown"
"""Reason code: neither ``_scores[correct_from]`` nor a ``correct`` field says whether the answer is right."""

_SCORES_KEY = "_scores"  # same key as verifiers.compose.SCORES_KEY (not imported: keeps this module light)


# -- pure functions -----------------------------------------------------------------------------


def kimi_length_rewards(lengths: Sequence[int], correct: Sequence[bool | None]) -> list[float | None]:
    """Kimi k1.5 length reward (arXiv 2501.12599, §2.3.3) for the k completions of ONE prompt.

    ``lambda_i = 0.5 - (len_i - min_len) / (max_len - min_len)``; reward ``lambda_i`` if correct,
    ``min(0, lambda_i)`` if wrong, None if unknown; every reward 0 when ``max_len == min_len``.
    min/max run over all k lengths (those of unknown correctness included: their length is known).

    Args:
        lengths: k lengths in one unit (tokens or characters, never mixed).
        correct: k flags (True / False / None = unknown).

    Returns:
        k rewards in [-0.5, 0.5] (None where correctness is unknown).

    >>> kimi_length_rewards([10, 20, 30], [True, True, False])
    [0.5, 0.0, -0.5]
    """
    if len(lengths) != len(correct):
        raise ValueError(f"got {len(lengths)} lengths but {len(correct)} correctness flags")
    if not lengths:
        return []
    lo, hi = min(lengths), max(lengths)
    out: list[float | None] = []
    for n, ok in zip(lengths, correct):
        if ok is None:
            out.append(None)
            continue
        lam = 0.0 if hi == lo else 0.5 - (n - lo) / (hi - lo)
        out.append(lam if ok else min(0.0, lam))
    return out


def cosine_length_reward(
    length: int,
    correct: bool,
    *,
    max_length: int,
    correct_start: float = 2.0,
    correct_end: float = 1.0,
    wrong_start: float = -10.0,
    wrong_end: float = 0.0,
    exceed_penalty: float | None = -10.0,
) -> float:
    """Cosine length scaling (Yeo et al., "Demystifying Long CoT", arXiv 2502.03373, §4 / Eq. 1).

    ``p = min(L / max_length, 1)``; ``r = end + 0.5 (start - end) (1 + cos(pi p))``, with (start, end)
    = (`correct_start`, `correct_end`) for a right answer and (`wrong_start`, `wrong_end`) for a wrong
    one, so r = start at L = 0 and r = end at L = max_length. ``L >= max_length`` gives
    `exceed_penalty` instead (None: no penalty, r = end). The clamp of p keeps r monotone past the
    budget (open-r1 #312: unclamped, cos rises again and a far-too-long answer earns more).

    >>> cosine_length_reward(0, True, max_length=100)
    2.0
    >>> cosine_length_reward(50, False, max_length=100)
    -5.0
    >>> cosine_length_reward(150, True, max_length=100, exceed_penalty=None)
    1.0
    """
    if exceed_penalty is not None and length >= max_length:
        return float(exceed_penalty)
    start, end = (correct_start, correct_end) if correct else (wrong_start, wrong_end)
    progress = min(length / max_length, 1.0)
    r = end + 0.5 * (start - end) * (1.0 + math.cos(math.pi * progress))
    return float(min(max(r, min(start, end)), max(start, end)))  # cos rounding must not leave [end, start]


def overlong_penalty(length: int, *, max_length: int, cache_length: int) -> float:
    """DAPO soft overlong punishment (Yu et al., arXiv 2503.14476, Eq. 13).

    ``0`` if ``L <= max_length - cache_length``; ``(max_length - cache_length - L) / cache_length``
    inside the cache zone (falls linearly from 0 to -1); ``-1`` if ``L > max_length``.

    >>> overlong_penalty(90, max_length=100, cache_length=20)
    -0.5
    """
    free = max_length - cache_length
    if length <= free:
        return 0.0
    if length > max_length:
        return -1.0
    return (free - length) / cache_length


# -- shared helpers -----------------------------------------------------------------------------


def sample_correct(sample: Sample, correct_from: str, correct_min: float = 1.0) -> bool | None:
    """Whether the sample's answer is right: ``_scores[correct_from]``, else the ``correct`` field.

    Returns None when neither is known (score None, field absent, or a value of the wrong type).
    """
    scores = sample.extra.get(_SCORES_KEY)
    if isinstance(scores, Mapping) and correct_from in scores:
        value = scores[correct_from]
        if isinstance(value, bool):
            return value
        if not isinstance(value, (int, float)) or math.isnan(value):
            return None
        return bool(value >= correct_min)
    flag = sample.extra.get("correct")
    if isinstance(flag, bool):
        return flag
    if isinstance(flag, (int, float)) and not math.isnan(flag):
        return bool(flag >= correct_min)
    return None


def _unknown(sample: Sample, correct_from: str, **info: Any) -> RewardResult:
    """The cannot-judge result for unknown correctness; names the available terms on a likely typo."""
    scores = sample.extra.get(_SCORES_KEY)
    if isinstance(scores, Mapping) and correct_from not in scores:
        info["hint"] = f"no term {correct_from!r} in this composition; terms: {sorted(scores)}"
    return RewardResult.cannot_judge(CORRECTNESS_UNKNOWN, correct_from=correct_from, **info)


def _length(sample: Sample, unit: str) -> tuple[int, str] | None:
    """(length, unit used) or None when `unit` is "tokens" and the sample has no ids."""
    ids = sample.completion_ids
    if unit == "chars":
        return len(sample.completion), "chars"
    if ids is not None:
        return len(ids), "tokens"
    if unit == "tokens":
        return None
    return len(sample.completion), "chars"




def _check_unit(reward: str, unit: Any, allowed: tuple[str, ...]) -> str:
    if unit not in allowed:
        raise ConfigError(f"{reward}: unit must be one of {list(allowed)}, got {unit!r}")
    return str(unit)


def _check_number(reward: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{reward}: {name} must be a finite number, got {value!r}")
    return float(value)


def _check_optional_number(reward: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{reward}: {name} must be a finite number or None, got {value!r}")
    return float(value)


def _check_length(reward: str, name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{reward}: {name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_correct_from(reward: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"{reward}: correct_from must be the key of another term (e.g. 'math'), got {value!r}"
        )
    return value


# -- rewards ------------------------------------------------------------------------------------


@register("length")
class KimiLengthReward(Reward):
    """Kimi k1.5 length reward, per prompt group: shorter right answers earn more, long wrong ones lose.

    Definition (see `kimi_length_rewards`), over the k completions of one prompt group:
    ``lambda = 0.5 - (len - min_len) / (max_len - min_len)``; correct -> ``lambda``, wrong ->
    ``min(0, lambda)``; all 0 when ``max_len == min_len``. Range [-0.5, 0.5].

    Groups are formed by the ``group`` field, else by the prompt, also inside one `score_group`
    call (open-r1 ``len_reward`` takes min/max over the whole local batch, mixing prompts). Length
    is in tokens when every sample of the group has ``completion_ids``, else in characters for the
    whole group (``info["unit"]``); units are never mixed within a group. Correctness: see the module
    docstring; unknown -> None, reason ``correctness_unknown``. Kimi adds this term with a weight
    after a warm-up; use a `Composition` weight for that.

    Args:
        correct_from: key of the term whose score decides correctness (default "math").
        correct_min: a score >= this counts as correct.
        unit: "auto" (tokens if the whole group has ids, else characters), "tokens" (samples
            without ids get None, missing_field) or "chars".
    """

    scope: ClassVar[Scope] = "group"
    score_range: ClassVar[tuple[float, float]] = (-0.5, 0.5)

    def __init__(self, *, correct_from: str = "math", correct_min: float = 1.0, unit: str = "auto") -> None:
        self.correct_from = _check_correct_from("length", correct_from)
        self.correct_min = _check_number("length", "correct_min", correct_min)
        self.unit = _check_unit("length", unit, ("auto", "tokens", "chars"))

    def score_group(self, samples: Sequence[Sample]) -> list[RewardResult]:
        out: list[RewardResult | None] = [None] * len(samples)
        groups: dict[Any, list[int]] = defaultdict(list)
        for i, s in enumerate(samples):
            groups[s.group_key()].append(i)
        for idx in groups.values():
            members = [samples[i] for i in idx]
            for i, r in zip(idx, self._score_one_group(members)):
                out[i] = r
        return [r for r in out if r is not None]

    def _score_one_group(self, samples: Sequence[Sample]) -> list[RewardResult]:
        unit = self.unit
        if unit == "auto":
            unit = "tokens" if all(s.completion_ids is not None for s in samples) else "chars"
        measured = [_length(s, unit) for s in samples]
        known = [(i, m[0]) for i, m in enumerate(measured) if m is not None]
        correct = [sample_correct(samples[i], self.correct_from, self.correct_min) for i, _ in known]
        rewards = kimi_length_rewards([n for _, n in known], correct)
        lengths = [n for _, n in known]
        lo, hi = (min(lengths), max(lengths)) if lengths else (0, 0)
        results: list[RewardResult] = [
            RewardResult.cannot_judge(Reason.MISSING_FIELD, field="completion_ids", unit=unit)
            for _ in samples
        ]
        for (i, n), ok, r in zip(known, correct, rewards):
            info = {"unit": unit, "length": n, "min_length": lo, "max_length": hi, "group_size": len(samples)}
            if r is None:
                results[i] = _unknown(samples[i], self.correct_from, **info)
            else:
                results[i] = RewardResult(r, Reason.OK, {**info, "correct": ok})
        return results


@register("cosine_length")
class CosineLengthReward(Reward):
    """Cosine length scaling (Demystifying Long CoT, arXiv 2502.03373): the reward moves from a
    start value at length 0 to an end value at `max_length` along half a cosine, separately for
    right and wrong answers; overlong answers get `exceed_penalty`.

    Definition (see `cosine_length_reward`): ``p = min(L / max_length, 1)``,
    ``r = end + 0.5 (start - end)(1 + cos(pi p))``; right: start 2.0 -> end 1.0; wrong: start -10.0
    -> end 0.0; ``L >= max_length`` -> -10.0 (the paper's values). Progress is clamped (open-r1 #312).
    Range with the defaults: [-10, 2]; in general [min, max] of the five values.

    Group scope only so that a `Composition` passes the other terms' scores (``_scores``); each
    sample is scored on its own. Correctness as in the module docstring. The paper's code triggers
    the exceed penalty 16 tokens early (``L + 16 >= L_max``); set `max_length` 16 lower for that.

    Args:
        max_length: the budget L_max, in `unit` (default 4096 tokens).
        correct_start, correct_end: reward of a right answer at L = 0 and at L = max_length.
        wrong_start, wrong_end: reward of a wrong answer at L = 0 and at L = max_length.
        exceed_penalty: reward when L >= max_length; None: no penalty (L past the budget scores end).
        correct_from: key of the term whose score decides correctness (default "math").
        correct_min: a score >= this counts as correct.
        unit: "tokens" (default; samples without ``completion_ids`` get None, missing_field) or "chars".
    """

    scope: ClassVar[Scope] = "group"
    score_range: ClassVar[tuple[float, float]] = (-10.0, 2.0)

    def __init__(
        self,
        *,
        max_length: int = 4096,
        correct_start: float = 2.0,
        correct_end: float = 1.0,
        wrong_start: float = -10.0,
        wrong_end: float = 0.0,
        exceed_penalty: float | None = -10.0,
        correct_from: str = "math",
        correct_min: float = 1.0,
        unit: str = "tokens",
    ) -> None:
        name = "cosine_length"
        self.max_length = _check_length(name, "max_length", max_length, minimum=1)
        self.correct_start = _check_number(name, "correct_start", correct_start)
        self.correct_end = _check_number(name, "correct_end", correct_end)
        self.wrong_start = _check_number(name, "wrong_start", wrong_start)
        self.wrong_end = _check_number(name, "wrong_end", wrong_end)
        self.exceed_penalty = _check_optional_number(name, "exceed_penalty", exceed_penalty)
        self.correct_from = _check_correct_from(name, correct_from)
        self.correct_min = _check_number(name, "correct_min", correct_min)
        self.unit = _check_unit(name, unit, ("tokens", "chars"))

    def score(self, sample: Sample) -> RewardResult:
        """Score one sample (correctness from ``_scores`` or the ``correct`` field)."""
        measured = _length(sample, self.unit)
        if measured is None:
            return RewardResult.cannot_judge(Reason.MISSING_FIELD, field="completion_ids", unit=self.unit)
        n, unit = measured
        ok = sample_correct(sample, self.correct_from, self.correct_min)
        info = {"unit": unit, "length": n, "max_length": self.max_length}
        if ok is None:
            return _unknown(sample, self.correct_from, **info)
        r = cosine_length_reward(
            n,
            ok,
            max_length=self.max_length,
            correct_start=self.correct_start,
            correct_end=self.correct_end,
            wrong_start=self.wrong_start,
            wrong_end=self.wrong_end,
            exceed_penalty=self.exceed_penalty,
        )
        return RewardResult(r, Reason.OK, {**info, "correct": ok, "exceeded": n >= self.max_length})

    def score_group(self, samples: Sequence[Sample]) -> list[RewardResult]:
        return [self.score(s) for s in samples]


@register("overlong")
class OverlongReward(Reward):
    """DAPO soft overlong punishment (arXiv 2503.14476, Eq. 13): 0 within budget, a linear penalty
    to -1 in the last `cache_length` units, -1 beyond `max_length`.

    Definition (see `overlong_penalty`): with ``free = max_length - cache_length``: 0 if L <= free;
    ``(free - L) / cache_length`` if free < L <= max_length; -1 if L > max_length. Range [-1, 0].
    Defaults are DAPO's (L_max 20480, L_cache 4096 tokens).

    Args:
        max_length: L_max, in `unit`.
        cache_length: L_cache, the width of the soft zone (1 <= cache_length <= max_length).
        unit: "tokens" (default: ``completion_ids``; a sample without them gets None, missing_field)
            or "chars" (characters, explicitly).
    """

    score_range: ClassVar[tuple[float, float]] = (-1.0, 0.0)

    def __init__(self, *, max_length: int = 20480, cache_length: int = 4096, unit: str = "tokens") -> None:
        self.max_length = _check_length("overlong", "max_length", max_length, minimum=1)
        self.cache_length = _check_length("overlong", "cache_length", cache_length, minimum=1)
        if self.cache_length > self.max_length:
            raise ConfigError(
                f"overlong: cache_length ({cache_length}) must not exceed max_length ({max_length}); "
                "DAPO uses max_length 20480 with cache_length 4096"
            )
        self.unit = _check_unit("overlong", unit, ("tokens", "chars"))

    def score(self, sample: Sample) -> RewardResult:
        measured = _length(sample, self.unit)
        if measured is None:
            return RewardResult.cannot_judge(
                Reason.MISSING_FIELD, field="completion_ids", hint="pass completion_ids or set unit='chars'"
            )
        n, unit = measured
        r = overlong_penalty(n, max_length=self.max_length, cache_length=self.cache_length)
        return RewardResult(r, Reason.OK, {"unit": unit, "length": n})
