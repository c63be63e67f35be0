"""Math accuracy: extract the final answer, decide equivalence with the gold (see `grader`).

The `math` reward (registry name ``math``) wraps `verify`; it is heavy, so a `Composition`
scores it in the shared worker pool under a hard deadline. Plain functions for scripts:

    >>> from verifiers.math import verify
    >>> verify("\\\\frac{1}{2}", "... so the answer is $\\\\boxed{0.5}$.").score
    1.0
"""

from __future__ import annotations

from typing import ClassVar

from verifiers.math.extract import Extraction, extract_answer
from verifiers.math.grader import MathResult, prepare_gold, verify, verify_batch
from verifiers.registry import register
from verifiers.types import Reward, RewardResult, Sample

__all__ = ["Extraction", "MathAccuracy", "MathResult", "extract_answer", "prepare_gold", "verify", "verify_batch"]


@register("math")
class MathAccuracy(Reward):
    """1.0 when the completion's final answer equals the gold answer, else 0.0 (None: cannot judge).

    Args:
        mode: ``strict`` (RL: ``\\boxed{}``, ``<answer>`` tags, "final answer is" anchors only;
            several different final answers score 0) or ``lenient`` (evaluation).
        max_answer_chars: a longer extracted answer scores 0.
    """

    requires: ClassVar[tuple[str, ...]] = ("answer",)
    heavy: ClassVar[bool] = True
    default_deadline: ClassVar[float] = 2.0

    def __init__(self, *, mode: str = "strict", max_answer_chars: int = 1000) -> None:
        if mode not in ("strict", "lenient"):
            from verifiers.errors import ConfigError

            raise ConfigError(f"math: mode must be 'strict' or 'lenient', got {mode!r}")
        if max_answer_chars < 1:
            from verifiers.errors import ConfigError

            raise ConfigError(f"math: max_answer_chars must be >= 1, got {max_answer_chars}")
        self.mode = mode
        self.max_answer_chars = max_answer_chars

    def score(self, sample: Sample) -> RewardResult:
        missing = self.missing(sample)
        if missing is not None:
            return missing
        gold = sample.answer
        assert gold is not None
        result = verify(gold, sample.completion, mode=self.mode, max_answer_chars=self.max_answer_chars)
        info = {"extracted": result.extracted, "gold": result.gold, **result.info}
        return RewardResult(result.score, result.reason, info)
