"""Properties every built-in reward must keep, checked across the whole registry:
no raise on arbitrary text, scores inside the documented range, and the same score in another process."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers import REGISTRY, Composition, Sample, Term, WorkerPool
from verifiers.compose import SCORES_KEY

TAGS = st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "\\boxed{", "}", "$", "```python\n", "```"])
TEXT = st.lists(st.one_of(st.text(max_size=40), TAGS), max_size=12).map("".join)
LANGS = st.sampled_from(["en", "zh", "ja", "fr", "de", "ru", "es"])


@st.composite
def samples(draw: st.DrawFn) -> Sample:
    completion = draw(TEXT)
    return Sample(
        completion=completion,
        prompt=draw(st.sampled_from(["p1", "p2"])),
        answer=draw(st.one_of(st.none(), st.sampled_from(["42", "\\frac{1}{2}", "x^2+1", "(1, 2]"]), TEXT)),
        language=draw(st.one_of(st.none(), LANGS)),
        completion_ids=draw(st.one_of(st.none(), st.lists(st.integers(0, 50), max_size=60))),
        extra={SCORES_KEY: {"math": draw(st.sampled_from([0.0, 1.0, None]))}},
    )


# `code` executes programs: its properties live in tests/sandbox with real tests attached.
NAMES = [n for n in REGISTRY.names() if n != "code"]


def _in_range(reward, score):
    lo, hi = reward.score_range
    return score is None or (math.isfinite(score) and lo - 1e-9 <= score <= hi + 1e-9)


@pytest.mark.parametrize("name", NAMES)
@given(batch=st.lists(samples(), min_size=1, max_size=4))
def test_no_raise_and_in_range_on_arbitrary_text(name, batch):
    reward = REGISTRY.create(name)
    results = reward.score_group(batch) if reward.scope == "group" else [
        reward.missing(s) or reward.score(s) for s in batch
    ]
    assert len(results) == len(batch)
    for r in results:
        assert _in_range(reward, r.score), (name, r)
        assert isinstance(r.reason, str) and r.reason


@pytest.fixture(scope="module")
def other_process_pool():
    pool = WorkerPool(1, default_deadline=30)
    yield pool
    pool.shutdown()


@pytest.mark.parametrize("name", [n for n in NAMES if REGISTRY.get(n).cls.scope == "sample"])
def test_same_score_in_another_process(name, other_process_pool):
    reward = REGISTRY.create(name)
    batch = [
        Sample(completion=t, answer="2", language=lang, completion_ids=[1, 2, 3, 1, 2, 3, 1, 2, 3])
        for t in (
            "<think>\nWe compute 1 + 1 = 2. Wait, let me check.\n</think>\n<answer>\n\\boxed{2}\n</answer>",
            "<think>\n我们计算 1 + 1 = 2，所以 the answer is 2.\n</think>\n<answer>\\boxed{2}</answer>",
            "<think>\nNous calculons 1 + 1. Let me double-check: c'est 2.\n</think> \\boxed{3}",
        )
        for lang in ("en", "zh", "fr")
    ]
    heavy = type(reward).heavy
    try:
        type(reward).heavy = True  # force the pool path even for cheap rewards
        in_pool = Composition([Term(reward)], pool=other_process_pool).score(batch)
    finally:
        type(reward).heavy = heavy
    inline = Composition([Term(reward)], pool=False).score(batch)
    assert [r.rewards for r in in_pool] == [r.rewards for r in inline]
    assert [r.reasons for r in in_pool] == [r.reasons for r in inline]
