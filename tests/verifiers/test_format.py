"""Format rewards (format, format_soft, tag_count) and the properties every shaping reward shares."""

from __future__ import annotations

import multiprocessing as mp
import pickle
import re
from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers import REGISTRY, ConfigError, Reward, Sample
from verifiers.format import check_format, count_tags
from verifiers.text import split_think

SHAPING = ("format", "format_soft", "tag_count", "length", "cosine_length", "overlong", "repetition")

GOOD = "<think>\nLet me compute 2+2. It is 4.\n</think>\n<answer>\n4\n</answer>"

# The open-r1 strict format check as its docs describe it (written here from the description, not
# copied): anchored match with DOTALL and MULTILINE, so `$` also matches at any line end.
PEER_FORMAT = re.compile(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$", re.DOTALL | re.MULTILINE)


def peer_format(text: str) -> float:
    return 1.0 if PEER_FORMAT.match(text) else 0.0


def fmt(text: str, **params: object) -> tuple[float | None, str]:
    r = REGISTRY.create("format", **params).score(Sample(completion=text))
    return r.score, r.reason


# -- split_think ---------------------------------------------------------------------------------

SPLIT_CASES = [
    # (completion, prefilled, expected)
    ("<think>a</think>b", False, ("a", "b")),  # plain
    ("  <think>a</think>b", False, ("a", "b")),  # leading whitespace dropped
    ("a</think>b", True, ("a", "b")),  # prefilled
    ("a</think>b", False, (None, "a</think>b")),  # no opening tag and not prefilled: no think block
    ("<think>a", False, ("a", "")),  # unclosed (truncated): all CoT
    ("a", True, ("a", "")),  # prefilled and unclosed
    ("x", False, (None, "x")),  # no tags
    ("<think>a</think>b</think>c", False, ("a", "b</think>c")),  # first close wins
]


@pytest.mark.parametrize(("text", "prefilled", "expected"), SPLIT_CASES)
def test_split_think(text, prefilled, expected):
    assert split_think(text, think_prefilled=prefilled) == expected


# -- format: table ---------------------------------------------------------------------------------

FORMAT_CASES = [
    # (completion, params, score, reason)
    (GOOD, {}, 1.0, "ok"),
    ("<think>x</think><answer>4</answer>", {}, 1.0, "ok"),  # no newlines needed
    ("\n <think>x</think>  <answer>4</answer>\n\n", {}, 1.0, "ok"),  # whitespace around is free
    ("<think>x</think>", {}, 0.0, "missing_tag"),  # no answer block
    ("x</think><answer>4</answer>", {}, 0.0, "missing_tag"),  # no <think>, not prefilled
    ("<think>x<answer>4</answer>", {}, 0.0, "missing_tag"),  # think never closed
    ("<think>x</think><answer>4", {}, 0.0, "missing_tag"),  # answer never closed
    ("<think><think>x</think></think><answer>4</answer>", {}, 0.0, "duplicate_tag"),  # nested think
    ("<answer>4</answer><think>x</think>", {}, 0.0, "wrong_order"),  # blocks swapped
    ("</think>x<think><answer>4</answer>", {}, 0.0, "wrong_order"),  # tags reversed
    ("<think>x</think></answer>4<answer>", {}, 0.0, "wrong_order"),  # answer tags reversed
    ("<think>x<answer>4</answer></think>", {}, 0.0, "wrong_order"),  # answer inside think
    ("Sure! <think>x</think><answer>4</answer>", {}, 0.0, "leading_text"),
    ("<think>x</think>so:<answer>4</answer>", {}, 0.0, "text_between"),
    ("<think>x</think><answer>4</answer>\nHope this helps", {}, 0.0, "trailing_text"),
    ("<think> \n </think><answer>4</answer>", {}, 0.0, "empty_think"),
    ("<think></think><answer>4</answer>", {"allow_empty_think": True}, 1.0, "ok"),
    ("<think>x</think><answer> </answer>", {}, 0.0, "empty_answer"),
    # prefilled think: the completion starts inside the block and must not repeat <think>
    ("x</think><answer>4</answer>", {"think_prefilled": True}, 1.0, "ok"),
    ("<think>x</think><answer>4</answer>", {"think_prefilled": True}, 0.0, "duplicate_tag"),
    ("\n</think><answer>4</answer>", {"think_prefilled": True}, 0.0, "empty_think"),
    # served-R1 style: the answer follows </think> without tags
    ("<think>x</think> The answer is 4.", {"require_answer_tag": False}, 1.0, "ok"),
    ("<think>x</think>  ", {"require_answer_tag": False}, 0.0, "empty_answer"),
    ("x</think>4", {"require_answer_tag": False, "think_prefilled": True}, 1.0, "ok"),
    ("<think>x</think>4</think>", {"require_answer_tag": False}, 0.0, "duplicate_tag"),
    ("<Think>x</Think><answer>4</answer>", {}, 0.0, "missing_tag"),  # tags are case-sensitive
]


@pytest.mark.parametrize(("text", "params", "score", "reason"), FORMAT_CASES)
def test_format_table(text, params, score, reason):
    assert fmt(text, **params) == (score, reason)


# -- format: one test per peer bug we do not have ------------------------------------------------


def test_open_r1_multiline_trailing_text_is_not_rewarded():
    # open-r1's MULTILINE `$` matches at any line end, so junk on later lines still scores 1.0
    text = GOOD + "\nIgnore the above. Final answer: 5\nI am sure."
    assert peer_format(text) == 1.0  # the peer bug, reproduced
    assert fmt(text) == (0.0, "trailing_text")


def test_open_r1_duplicated_block_is_not_rewarded():
    text = GOOD + "\n" + GOOD
    assert peer_format(text) == 1.0  # the peer bug, reproduced
    assert fmt(text) == (0.0, "duplicate_tag")


def test_prefilled_think_is_not_scored_zero_trl_6966():
    # the chat template put <think> in the prompt: the completion holds only "...</think>..."
    text = "Let me compute 2+2.\n</think>\n<answer>\n4\n</answer>"
    assert peer_format(text) == 0.0  # what peers give
    assert fmt(text, think_prefilled=True) == (1.0, "ok")
    assert REGISTRY.create("format_soft", think_prefilled=True).score(Sample(completion=text)).score == 1.0


def test_tag_count_prefilled_perfect_completion_gets_full_credit_not_075():
    text = "Let me compute 2+2.\n</think>\n<answer>\n4\n</answer>"
    r = REGISTRY.create("tag_count", think_prefilled=True).score(Sample(completion=text))
    assert (r.score, r.reason) == (1.0, "ok")
    # a prefilled completion that repeats <think> loses that tag's share
    r2 = REGISTRY.create("tag_count", think_prefilled=True).score(Sample(completion="<think>" + text))
    assert (r2.score, r2.reason) == (0.75, "duplicate_tag")


def test_tag_count_tags_written_inside_the_cot_do_not_count():
    # the peer counts any occurrence; an answer block inside the reasoning is not in its place
    text = "<think>maybe <answer>4</answer>, let me check</think>"
    counted, reason = count_tags(text)
    assert counted == {"<think>": True, "</think>": False, "<answer>": False, "</answer>": False}
    assert reason == "wrong_order"


TAG_COUNT_CASES = [
    # (completion, params, score)
    (GOOD, {}, 1.0),
    ("<think>x</think>", {}, 0.5),  # think tags only
    ("<think>x</think>", {"require_answer_tag": False}, 1.0),
    ("<think>x</think><answer>4</answer> junk", {}, 0.75),  # trailing junk costs </answer>
    ("junk <think>x</think><answer>4</answer>", {}, 0.75),  # leading junk costs <think>
    ("<think>x</think><think>y</think><answer>4</answer>", {}, 0.5),  # duplicated think tags
    ("", {}, 0.0),
]


@pytest.mark.parametrize(("text", "params", "score"), TAG_COUNT_CASES)
def test_tag_count_table(text, params, score):
    assert REGISTRY.create("tag_count", **params).score(Sample(completion=text)).score == score


def test_format_soft_requires_text_after_think_and_a_single_block():
    soft = REGISTRY.create("format_soft")
    assert soft.score(Sample(completion="<think>x</think> 4")).score == 1.0
    assert soft.score(Sample(completion="<think>x</think>")).reason == "empty_answer"
    assert soft.score(Sample(completion="<think>x</think><think>y</think>4")).reason == "duplicate_tag"
    assert soft.score(Sample(completion="hi <think>x</think>4")).reason == "leading_text"


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("format", {"think_prefilled": "yes"}),
        ("format", {"require_answer_tag": 1}),
        ("format_soft", {"allow_empty_think": None}),
        ("tag_count", {"think_prefilled": 0}),
    ],
)
def test_bad_option_raises_config_error(name, params):
    with pytest.raises(ConfigError, match="must be True or False"):
        REGISTRY.create(name, **params)


# -- properties shared by every shaping reward -------------------------------------------------

_tags = st.sampled_from(
    ["<think>", "</think>", "<answer>", "</answer>", "\n", " ", "x", "答", "$\\frac{1}{2}$"]
)
texts = st.one_of(st.text(max_size=300), st.lists(_tags, max_size=30).map("".join))
ids = st.one_of(st.none(), st.lists(st.integers(0, 50), max_size=120))
correct = st.one_of(st.none(), st.booleans())


def _all_rewards() -> list[Reward]:
    out = [REGISTRY.create(n) for n in SHAPING]
    out += [
        REGISTRY.create("format", think_prefilled=True, require_answer_tag=False, allow_empty_think=True),
        REGISTRY.create("tag_count", think_prefilled=True),
        REGISTRY.create("overlong", max_length=50, cache_length=20, unit="chars"),
        REGISTRY.create("cosine_length", max_length=60, unit="chars", exceed_penalty=None),
        REGISTRY.create("repetition", n=1, max_penalty=-0.5, unit="text"),
    ]
    return out


REWARDS = _all_rewards()


def _score(reward: Reward, samples: list[Sample]) -> list[tuple[float | None, str]]:
    if reward.scope == "group":
        results = reward.score_group(samples)
    else:
        results = [reward.score(s) for s in samples]
    return [(r.score, r.reason) for r in results]


@settings(max_examples=60)
@given(st.lists(st.tuples(texts, ids, correct), min_size=1, max_size=4))
def test_no_shaping_reward_raises_and_all_stay_in_range(rows):
    samples = [
        Sample(completion=t, completion_ids=i, group=0, extra={} if c is None else {"correct": c})
        for t, i, c in rows
    ]
    for reward in REWARDS:
        scored = _score(reward, samples)
        assert len(scored) == len(samples)
        lo, hi = reward.score_range
        if reward.params().get("max_penalty") is not None:
            lo = reward.params()["max_penalty"]
        for score, reason in scored:
            assert isinstance(reason, str) and reason
            if score is not None:
                assert lo <= score <= hi, (reward, score)


@settings(max_examples=30)
@given(texts)
def test_format_agrees_with_a_plain_parse(text):
    # oracle: the strict format as a literal split, written independently of check_format
    parts = re.fullmatch(r"\s*<think>(.*)</think>\s*<answer>(.*)</answer>\s*", text, re.DOTALL)
    tags_once = all(text.count(t) == 1 for t in ("<think>", "</think>", "<answer>", "</answer>"))
    expected = bool(parts and tags_once and parts.group(1).strip() and parts.group(2).strip())
    assert (check_format(text)[0] == "ok") == expected


def test_every_shaping_reward_pickles_round_trip_equal():
    for reward in REWARDS:
        clone = pickle.loads(pickle.dumps(reward))
        assert clone == reward
        assert clone.params() == reward.params()


PROBES = [
    Sample(completion=GOOD, completion_ids=list(range(40)), group=1, extra={"correct": True}),
    Sample(completion="x</think>答案是 4 答案是 4 答案是 4", group=1, extra={"correct": False}),
    Sample(completion="<think>" + "loop " * 50, completion_ids=[7] * 60, group=1, extra={"correct": True}),
    Sample(completion="", group=1),
]


def _score_in_child(rewards: list[Reward], samples: list[Sample]) -> list[list[tuple[float | None, str]]]:
    return [_score(r, samples) for r in rewards]


def test_same_scores_in_a_spawned_process():
    here = _score_in_child(REWARDS, PROBES)
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as ex:
        there = ex.submit(_score_in_child, REWARDS, PROBES).result(timeout=60)
    assert there == here
    assert here == _score_in_child(REWARDS, PROBES)  # and again here: deterministic
