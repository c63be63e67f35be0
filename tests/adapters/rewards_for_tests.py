"""Test-only rewards for the adapter tests, registered in a fresh `Registry` (module-level: picklable,
so the worker pool can import them)."""

from __future__ import annotations

import time

from verifiers.registry import Registry
from verifiers.types import Reason, Reward, RewardResult, Sample


class HasAnswer(Reward):
    """1.0 when the gold answer appears in the completion, else 0.0; cannot judge without a gold."""

    requires = ("answer",)

    def score(self, sample: Sample) -> RewardResult:
        golds = [sample.answer] if isinstance(sample.answer, str) else list(sample.answer or [])
        hit = next((g for g in golds if g and g in sample.completion), None)
        if hit is None:
            return RewardResult(0.0, Reason.WRONG, {"extracted": sample.completion[-20:]})
        return RewardResult(1.0, Reason.OK, {"extracted": hit})


class VowelShare(Reward):
    """Share of letters that are vowels (a graded score that differs between random completions)."""

    def score(self, sample: Sample) -> RewardResult:
        letters = [c for c in sample.completion.lower() if c.isalpha()]
        if not letters:
            return RewardResult.cannot_judge(Reason.NOT_APPLICABLE)
        return RewardResult(sum(c in "aeiou" for c in letters) / len(letters))


class SlowInPool(Reward):
    """Runs in the pool; sleeps `seconds` when the completion contains 'sleep', else scores 1.0."""

    heavy = True
    default_deadline = 10.0

    def __init__(self, *, seconds: float = 3.0) -> None:
        self.seconds = seconds

    def score(self, sample: Sample) -> RewardResult:
        if "sleep" in sample.completion:
            time.sleep(self.seconds)
        return RewardResult(1.0)


class ShortestInGroup(Reward):
    """Group scope: 1.0 for the shortest completion of its group, else 0.0."""

    scope = "group"

    def score_group(self, samples):  # type: ignore[no-untyped-def]
        shortest = min(len(s.completion) for s in samples)
        return [RewardResult(1.0 if len(s.completion) == shortest else 0.0) for s in samples]


def make_registry() -> Registry:
    """A fresh registry holding only the test rewards."""
    reg = Registry(entry_point_group=None)
    reg.add(HasAnswer, name="has_answer")
    reg.add(VowelShare, name="vowels")
    reg.add(SlowInPool, name="slow_pool")
    reg.add(ShortestInGroup, name="shortest")
    return reg
