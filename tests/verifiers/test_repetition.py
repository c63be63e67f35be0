"""N-gram repetition penalty (`repetition`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers import REGISTRY, ConfigError, Sample
from verifiers.repetition import repeated_fraction, text_units


def rep(text: str, ids: list[int] | None = None, **params: object) -> float | None:
    return REGISTRY.create("repetition", **params).score(Sample(completion=text, completion_ids=ids)).score


UNIT_CASES = [
    # (text, units)
    ("The sum is 4.", ["the", "sum", "is", "4."]),  # words, lower-cased, punctuation kept
    ("答案是4", ["答", "案", "是", "4"]),  # Han: one unit per character
    ("ひらがなカタカナ", list("ひらがなカタカナ")),  # Kana too
    ("สวัสดี", list("สวัสดี")),  # Thai (no spaces between words)
    ("정답은 4 입니다", ["정답은", "4", "입니다"]),  # Hangul is space-delimited: words
    ("Привет мир", ["привет", "мир"]),  # Cyrillic: words
    ("所以 x=3，", ["所", "以", "x=3，"]),  # mixed scripts
    ("", []),
]


@pytest.mark.parametrize(("text", "units"), UNIT_CASES)
def test_text_units(text, units):
    assert text_units(text) == units


REPETITION_CASES = [
    # (text, ids, params, score)
    ("a b c d e f", None, {}, 0.0),  # nothing repeats
    ("a b c a b c", None, {}, -0.25),  # 4 trigrams, 3 unique
    ("a b", None, {}, 0.0),  # fewer units than n: no n-gram
    ("", None, {}, 0.0),
    ("a a a a a", None, {"n": 1}, -0.8),  # unigrams: 1 unique of 5
    ("a b c a b c", None, {"max_penalty": -0.5}, -0.125),
    ("ignored text", [1, 2, 3, 1, 2, 3], {}, -0.25),  # token ids when given
    ("a b c a b c", [1, 2, 3, 4, 5, 6], {"unit": "text"}, -0.25),  # ids ignored on request
]


@pytest.mark.parametrize(("text", "ids", "params", "score"), REPETITION_CASES)
def test_repetition_table(text, ids, params, score):
    assert rep(text, ids, **params) == score


def test_whitespace_split_cannot_see_chinese_repetition_but_we_do():
    looping = "所以答案是五。" * 20  # the model repeats one sentence twenty times, no spaces
    assert len(looping.split()) == 1  # a whitespace split sees one "word": no trigram, penalty 0
    score = rep(looping)
    assert score is not None and score < -0.8
    varied = "首先计算两个数的和，然后检查结果是否正确，最后写出答案。"
    assert rep(varied) == 0.0


def test_tokens_are_required_only_when_asked_for():
    r = REGISTRY.create("repetition", unit="tokens").score(Sample(completion="a b c"))
    assert (r.score, r.reason) == (None, "missing_field")
    r = REGISTRY.create("repetition").score(Sample(completion="a b c a b c"))
    assert r.info["unit"] == "text"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": True}, "n must be an integer >= 1"),
        ({"max_penalty": 0.5}, "max_penalty must be a finite number <= 0"),
        ({"max_penalty": float("-inf")}, "max_penalty must be a finite number <= 0"),
        ({"unit": "words"}, "unit must be"),
    ],
)
def test_bad_parameters_raise_config_error(params, match):
    with pytest.raises(ConfigError, match=match):
        REGISTRY.create("repetition", **params)


@settings(max_examples=50)
@given(st.lists(st.integers(0, 5), max_size=60), st.integers(1, 6))
def test_repeated_fraction_matches_a_plain_loop(units, n):
    seen: set[tuple[int, ...]] = set()
    repeats = 0
    grams = [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]
    for g in grams:
        repeats += g in seen
        seen.add(g)
    expected = repeats / len(grams) if grams else 0.0
    assert repeated_fraction(units, n) == pytest.approx(expected)
    assert 0.0 <= repeated_fraction(units, n) < 1.0


@settings(max_examples=50)
@given(st.text(max_size=400))
def test_text_units_never_contain_whitespace_and_cover_all_non_space_characters(text):
    units = text_units(text)
    assert all(u and not any(c.isspace() for c in u) for u in units)
    assert "".join(units) == "".join(c for c in text.lower() if not c.isspace())


_spacey = st.sampled_from(
    ["\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000", "\u200b", " ", "\t", "a", "É", "答"]
)


@settings(max_examples=80)
@given(st.one_of(st.text(max_size=200), st.lists(_spacey, max_size=40).map("".join)))
def test_fast_split_path_gives_the_same_units_as_the_regex(text):
    from verifiers.repetition import _UNITS

    assert text_units(text) == _UNITS.findall(text.lower())
