"""Length rewards: Kimi k1.5 (`length`), cosine scaling (`cosine_length`), DAPO overlong (`overlong`)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers import REGISTRY, Composition, ConfigError, Registry, Reward, RewardResult, Sample
from verifiers.length import (
    CosineLengthReward,
    KimiLengthReward,
    OverlongReward,
    cosine_length_reward,
    kimi_length_rewards,
    overlong_penalty,
)


class EndsWithAnswer(Reward):
    """Test-only correctness term: 1.0 when the completion ends with the gold answer, None without gold."""

    def score(self, sample: Sample) -> RewardResult:
        if sample.answer is None:
            return RewardResult.cannot_judge("no_gold")
        return RewardResult(1.0 if sample.completion.rstrip().endswith(str(sample.answer)) else 0.0)


@pytest.fixture
def registry() -> Registry:
    reg = Registry(entry_point_group=None)
    reg.add(EndsWithAnswer, name="check")
    for cls, name in ((KimiLengthReward, "length"), (CosineLengthReward, "cosine_length")):
        reg.add(cls, name=name)
    return reg


def group(gid: object, lengths: list[int], correct: list[bool | None], *, ids: bool = False) -> list[Sample]:
    return [
        Sample(
            completion="x" * n,
            completion_ids=list(range(n)) if ids else None,
            group=gid,  # type: ignore[arg-type]
            extra={} if ok is None else {"correct": ok},
        )
        for n, ok in zip(lengths, correct)
    ]


# -- Kimi length ---------------------------------------------------------------------------------

KIMI_CASES = [
    # (lengths, correct, expected)
    ([10, 20, 30], [True, True, True], [0.5, 0.0, -0.5]),  # shortest right answer earns most
    ([10, 20, 30], [False, False, False], [0.0, 0.0, -0.5]),  # wrong: min(0, lambda)
    ([10, 20, 30], [True, None, False], [0.5, None, -0.5]),  # unknown stays unknown
    ([7, 7, 7], [True, False, True], [0.0, 0.0, 0.0]),  # max == min: all 0
    ([5], [True], [0.0]),  # a group of one
    ([], [], []),
]


@pytest.mark.parametrize(("lengths", "correct", "expected"), KIMI_CASES)
def test_kimi_formula_table(lengths, correct, expected):
    assert kimi_length_rewards(lengths, correct) == expected


def test_kimi_length_is_per_group_not_over_the_whole_batch(registry):
    # open-r1 len_reward takes min/max over the whole local batch, mixing prompts
    batch = [
        Sample(completion="a" * 10 + " 4", answer="4", group="p1"),
        Sample(completion="a" * 30 + " 5", answer="4", group="p1"),
        Sample(completion="b" * 1000 + " 7", answer="7", group="p2"),
        Sample(completion="b" * 3000 + " 7", answer="7", group="p2"),
    ]
    comp = Composition.from_config(
        [
            {"name": "check", "weight": 1.0},
            {"name": "length", "weight": 0.1, "params": {"correct_from": "check"}},
        ],
        registry=registry,
        pool=False,
    )
    scored = comp.score(batch)
    assert [s.rewards["length"] for s in scored] == [0.5, -0.5, 0.5, -0.5]
    assert scored[2].reward == pytest.approx(1.0 + 0.1 * 0.5)
    # the same split when an adapter hands the whole batch to score_group directly
    direct = KimiLengthReward().score_group([_with_correct(s, ok) for s, ok in zip(batch, [1, 0, 1, 1])])
    assert [r.score for r in direct] == [0.5, -0.5, 0.5, -0.5]


def _with_correct(s: Sample, ok: int) -> Sample:
    return Sample(completion=s.completion, group=s.group, extra={"correct": bool(ok)})


def test_kimi_uses_tokens_when_every_sample_has_ids():
    samples = group(0, [10, 20, 30], [True] * 3, ids=True)
    samples = [
        Sample(
            completion="y" * (100 - len(s.completion)),
            completion_ids=s.completion_ids,
            group=0,
            extra=s.extra,
        )
        for s in samples
    ]  # characters reversed: only tokens give 0.5 to the first
    results = KimiLengthReward().score_group(samples)
    assert [r.score for r in results] == [0.5, 0.0, -0.5]
    assert {r.info["unit"] for r in results} == {"tokens"}


def test_kimi_never_mixes_tokens_and_characters_in_one_group():
    # one sample without ids: the whole group falls back to characters (ms-swift #3353 style mix-up)
    samples = group(0, [10, 20, 30], [True] * 3, ids=True)
    samples[1] = Sample(completion="x" * 20, group=0, extra={"correct": True})
    for s in samples:
        assert len(s.completion) in (10, 20, 30)
    results = KimiLengthReward().score_group(samples)
    assert {r.info["unit"] for r in results} == {"chars"}
    assert [r.score for r in results] == [0.5, 0.0, -0.5]
    strict = KimiLengthReward(unit="tokens").score_group(samples)
    assert [(r.score, r.reason) for r in strict] == [(0.5, "ok"), (None, "missing_field"), (-0.5, "ok")]


def test_kimi_unknown_correctness_is_none_not_zero(registry):
    batch = [
        Sample(completion="a 4", answer="4", group=1),
        Sample(completion="a much longer one 4", answer=None, group=1),  # check term says None
        Sample(completion="a longest of all of them 3", answer="4", group=1),
    ]
    comp = Composition.from_config(
        [{"name": "check"}, {"name": "length", "params": {"correct_from": "check"}}],
        registry=registry,
        pool=False,
    )
    scored = comp.score(batch)
    assert scored[1].rewards["length"] is None
    assert scored[1].reasons["length"] == "correctness_unknown"
    assert scored[0].rewards["length"] == 0.5 and scored[2].rewards["length"] == -0.5


def test_kimi_without_scores_or_correct_field_cannot_judge():
    results = KimiLengthReward().score_group(
        [Sample(completion="abc", group=0), Sample(completion="a", group=0)]
    )
    assert [(r.score, r.reason) for r in results] == [(None, "correctness_unknown")] * 2


# -- cosine length -------------------------------------------------------------------------------

COSINE_CASES = [
    # (length, correct, params, expected) with max_length=100 unless given
    (0, True, {}, 2.0),
    (50, True, {}, 1.5),
    (99, True, {}, pytest.approx(1.0, abs=1e-3)),
    (100, True, {}, -10.0),  # L >= L_max: exceed penalty
    (0, False, {}, -10.0),  # short wrong answers are punished hardest
    (50, False, {}, -5.0),
    (250, False, {}, -10.0),
    (150, True, {"exceed_penalty": None}, 1.0),  # clamped: the end value, not more
    (150, False, {"exceed_penalty": None}, 0.0),
]


@pytest.mark.parametrize(("length", "correct", "params", "expected"), COSINE_CASES)
def test_cosine_formula_table(length, correct, params, expected):
    assert cosine_length_reward(length, correct, max_length=100, **params) == expected


def test_cosine_progress_is_clamped_open_r1_312():
    # unclamped, cos(pi * 1.5) = 0 gives a correct answer 1.5 times L_max a reward of 1.5 > 1.0
    unclamped = 1.0 + 0.5 * (2.0 - 1.0) * (1 + math.cos(math.pi * 1.5))
    assert unclamped == pytest.approx(1.5)
    reward = REGISTRY.create("cosine_length", max_length=100, exceed_penalty=None)
    r = reward.score(Sample(completion="", completion_ids=[0] * 150, extra={"correct": True}))
    assert r.score == 1.0


def test_cosine_counts_tokens_not_characters_ms_swift_3353():
    reward = REGISTRY.create("cosine_length", max_length=100)
    text = "word " * 100  # 500 characters, 100 "tokens" below
    r = reward.score(Sample(completion=text, completion_ids=[1] * 50, extra={"correct": True}))
    assert r.info["unit"] == "tokens" and r.score == 1.5
    # without ids the token budget cannot be judged; characters only on request
    no_ids = reward.score(Sample(completion=text, extra={"correct": True}))
    assert (no_ids.score, no_ids.reason) == (None, "missing_field")
    chars = REGISTRY.create("cosine_length", max_length=1000, unit="chars").score(
        Sample(completion=text, extra={"correct": True})
    )
    assert chars.info["unit"] == "chars" and chars.score == 1.5


def test_cosine_reads_correctness_from_the_composition(registry):
    batch = [
        Sample(completion="4", completion_ids=[1] * 10, answer="4", group=0),
        Sample(completion="5", completion_ids=[1] * 10, answer="4", group=0),
    ]
    comp = Composition.from_config(
        [
            {"name": "check", "weight": 0.0},
            {"name": "cosine_length", "params": {"correct_from": "check", "max_length": 20}},
        ],
        registry=registry,
        pool=False,
    )
    a, b = comp.score(batch)
    assert a.rewards["cosine_length"] == pytest.approx(1.5) and b.rewards["cosine_length"] == pytest.approx(
        -5.0
    )


@settings(max_examples=50)
@given(st.integers(0, 500), st.integers(0, 500), st.booleans())
def test_cosine_is_monotone_in_length_below_the_budget(a, b, correct):
    lo, hi = sorted((a, b))
    r_lo = cosine_length_reward(lo, correct, max_length=300, exceed_penalty=None)
    r_hi = cosine_length_reward(hi, correct, max_length=300, exceed_penalty=None)
    assert (r_lo >= r_hi) if correct else (r_lo <= r_hi)
    assert -10.0 <= r_hi <= 2.0


# -- DAPO overlong ---------------------------------------------------------------------------------

OVERLONG_CASES = [
    # (length, expected) with max_length=100, cache_length=20
    (0, 0.0),
    (80, 0.0),  # last free length
    (90, -0.5),  # halfway through the cache zone
    (100, -1.0),  # at L_max: the zone's end
    (101, -1.0),  # past L_max
]


@pytest.mark.parametrize(("length", "expected"), OVERLONG_CASES)
def test_overlong_formula_table(length, expected):
    assert overlong_penalty(length, max_length=100, cache_length=20) == expected
    reward = REGISTRY.create("overlong", max_length=100, cache_length=20)
    assert reward.score(Sample(completion="", completion_ids=[0] * length)).score == expected


def test_overlong_needs_tokens_unless_characters_are_asked_for():
    r = REGISTRY.create("overlong").score(Sample(completion="x" * 30000))
    assert (r.score, r.reason) == (None, "missing_field")
    r = REGISTRY.create("overlong", max_length=100, cache_length=20, unit="chars").score(
        Sample(completion="x" * 90)
    )
    assert (r.score, r.info["unit"]) == (-0.5, "chars")


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("overlong", {"max_length": 100, "cache_length": 200}, "must not exceed max_length"),
        ("overlong", {"cache_length": 0}, "cache_length must be an integer >= 1"),
        ("overlong", {"max_length": 1.5}, "max_length must be an integer"),
        ("overlong", {"unit": "words"}, "unit must be one of"),
        ("cosine_length", {"max_length": 0}, "max_length must be an integer >= 1"),
        ("cosine_length", {"correct_start": float("nan")}, "finite number"),
        ("cosine_length", {"unit": "auto"}, "unit must be one of"),
        ("length", {"correct_from": ""}, "correct_from must be the key"),
        ("length", {"unit": "bytes"}, "unit must be one of"),
    ],
)
def test_bad_parameters_raise_config_error(name, params, match):
    with pytest.raises(ConfigError, match=match):
        REGISTRY.create(name, **params)


def test_overlong_is_a_sample_reward_and_length_rewards_are_group_rewards():
    assert OverlongReward.scope == "sample"
    assert KimiLengthReward.scope == CosineLengthReward.scope == "group"


def test_a_correct_from_that_names_no_term_says_which_terms_exist(registry):
    comp = Composition.from_config(
        [{"name": "check"}, {"name": "length", "params": {"correct_from": "math"}}],
        registry=registry,
        pool=False,
    )
    scored = comp.score(
        [Sample(completion="4", answer="4", group=0), Sample(completion="44", answer="4", group=0)]
    )
    assert [s.rewards["length"] for s in scored] == [None, None]
    assert "terms: ['check']" in scored[0].info["length"]["hint"]
