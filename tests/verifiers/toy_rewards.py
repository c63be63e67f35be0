"""Small rewards used only by tests of the registry and composition (module-level: picklable)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from verifiers.errors import ConfigError
from verifiers.types import Reason, Reward, RewardResult, Sample


class ExactMatch(Reward):
    """1.0 when the completion equals the answer after stripping, else 0.0."""

    requires = ("answer",)

    def __init__(self, *, strip: bool = True) -> None:
        self.strip = strip

    def score(self, sample: Sample) -> RewardResult:
        a, b = sample.completion, str(sample.answer)
        if self.strip:
            a, b = a.strip(), b.strip()
        return RewardResult(1.0 if a == b else 0.0, Reason.OK if a == b else Reason.WRONG)


class Length(Reward):
    """Completion length in characters divided by `scale`."""

    score_range = (0.0, float("inf"))

    def __init__(self, *, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ConfigError(f"scale must be > 0, got {scale}")
        self.scale = scale

    def score(self, sample: Sample) -> RewardResult:
        return RewardResult(len(sample.completion) / self.scale)


class HeavySlow(Reward):
    """Runs in the pool; sleeps `seconds` when the completion says 'hang', else scores 1."""

    heavy = True
    default_deadline = 0.5

    def __init__(self, *, seconds: float = 1e9) -> None:
        self.seconds = seconds

    def score(self, sample: Sample) -> RewardResult:
        if "hang" in sample.completion:
            time.sleep(self.seconds)
        return RewardResult(1.0)


class Raises(Reward):
    """Raises on every sample (a buggy reward)."""

    heavy = False

    def score(self, sample: Sample) -> RewardResult:
        raise RuntimeError("bug in reward")


class CannotJudge(Reward):
    """Always None ('cannot judge')."""

    def score(self, sample: Sample) -> RewardResult:
        return RewardResult.cannot_judge(Reason.NOT_APPLICABLE)


class GroupRank(Reward):
    """Group scope: 1.0 for the shortest completion of the group, 0.0 otherwise; sees `_scores`."""

    scope = "group"

    def score_group(self, samples: Sequence[Sample]) -> list[RewardResult]:
        shortest = min(len(s.completion) for s in samples)
        return [
            RewardResult(1.0 if len(s.completion) == shortest else 0.0, info={"seen": dict(s.extra.get("_scores", {}))})
            for s in samples
        ]
