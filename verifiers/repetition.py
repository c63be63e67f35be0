"""N-gram repetition penalty (Yeo et al., "Demystifying Long CoT", arXiv 2502.03373, App. C.2; the
same formula as open-r1 ``get_repetition_penalty_reward`` and TRL ``trl/rewards/other_rewards.py``).

Units. Over token ids (``completion_ids``) when the sample has them: language-agnostic, as TRL does
now. Otherwise over *script-aware text units* (`text_units`): a lower-cased whitespace-delimited word
for space-delimited scripts (Latin, Cyrillic, Greek, Arabic, Hangul, ...), but one unit per
character for scripts written without spaces (Han, Hiragana/Katakana, Thai, Lao, Khmer, Myanmar).
Splitting on whitespace alone makes a Chinese paragraph one or two "words", so a model looping on
the same Chinese sentence is never penalised (open-r1's whitespace path; its jieba path is not
wired into its registry).

Default n = 3 for every unit kind: 3 words for English, 3 characters (about 1.5-2 words) for
Chinese, 3 tokens for ids. Three Chinese characters repeat more often in natural text than three
English words, so a CJK baseline sits somewhat above an English one; raise `n` (e.g. 4-6) when
scoring Chinese/Japanese text without ids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

from verifiers.errors import ConfigError
from verifiers.registry import register
from verifiers.types import Reason, Reward, RewardResult, Sample

__all__ = ["RepetitionReward", "repeated_fraction", "text_units"]

# Scripts written without spaces between words: one unit per character.
_UNSPACED = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_UNITS = re.compile(f"[{_UNSPACED}]|[^\\s{_UNSPACED}]+")
_HAS_UNSPACED = re.compile(f"[{_UNSPACED}]")


def text_units(text: str) -> list[str]:
    """Split text into repetition units: lower-cased words, and single characters of unspaced scripts.

    >>> text_units("Wait, so 答案是 5")
    ['wait,', 'so', '答', '案', '是', '5']
    """
    lowered = text.lower()
    if lowered.isascii() or _HAS_UNSPACED.search(lowered) is None:
        return lowered.split()  # same units as the regex when no unspaced script occurs, ~5x faster
    return _UNITS.findall(lowered)


def repeated_fraction(units: Sequence[Hashable], n: int) -> float:
    """Share of n-grams that repeat an earlier one: ``1 - unique_ngrams / total_ngrams``.

    Args:
        units: the sequence (words, characters or token ids).
        n: n-gram size, >= 1.

    Returns:
        A value in [0, 1); 0.0 when there are fewer than `n` units (no n-gram at all).

    >>> repeated_fraction([1, 2, 3, 1, 2, 3], 3)
    0.25
    """
    total = len(units) - n + 1
    if total <= 0:
        return 0.0
    if n == 1:
        unique = len(set(units))
    else:
        unique = len(set(zip(*(units[i:] for i in range(n)))))
    return 1.0 - unique / total


@register("repetition")
class RepetitionReward(Reward):
    """N-gram repetition penalty: ``(1 - unique_ngrams / total_ngrams) * max_penalty``.

    Definition (see `repeated_fraction`): over the completion's n-grams of units, the share that
    repeat an earlier n-gram, times `max_penalty` (<= 0). 0.0 when the completion has fewer than
    `n` units. Range [max_penalty, 0] ([-1, 0] with the default). Units: token ids when given,
    else script-aware text units (see the module docstring; ``info["unit"]`` says which).

    Args:
        n: n-gram size (default 3, as open-r1 and TRL; the Demystifying paper used 40 tokens).
        max_penalty: the penalty when every n-gram repeats (asymptotically); must be <= 0.
        unit: "auto" (token ids when the sample has them, else text), "tokens" (samples without
            ids get None, missing_field) or "text" (ignore ids).
    """

    score_range: ClassVar[tuple[float, float]] = (-1.0, 0.0)

    def __init__(self, *, n: int = 3, max_penalty: float = -1.0, unit: str = "auto") -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"repetition: n must be an integer >= 1 (n-gram size), got {n!r}")
        if (
            isinstance(max_penalty, bool)
            or not isinstance(max_penalty, (int, float))
            or not (math.isfinite(max_penalty) and max_penalty <= 0)
        ):
            raise ConfigError(
                f"repetition: max_penalty must be a finite number <= 0 (it is a penalty), got {max_penalty!r}"
            )
        if unit not in ("auto", "tokens", "text"):
            raise ConfigError(f"repetition: unit must be 'auto', 'tokens' or 'text', got {unit!r}")
        self.n = n
        self.max_penalty = float(max_penalty)
        self.unit = unit

    def score(self, sample: Sample) -> RewardResult:
        ids = sample.completion_ids
        units: Sequence[Any]
        if self.unit != "text" and ids is not None:
            units, kind = ids, "tokens"
        elif self.unit == "tokens":
            return RewardResult.cannot_judge(Reason.MISSING_FIELD, field="completion_ids")
        else:
            units, kind = text_units(sample.completion), "text"
        fraction = repeated_fraction(units, self.n)
        return RewardResult(
            fraction * self.max_penalty + 0.0, Reason.OK, {"unit": kind, "repeated": fraction}
        )
