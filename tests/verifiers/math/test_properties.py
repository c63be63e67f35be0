"""Hypothesis properties and unit checks of the pure path."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from verifiers.math import MathAccuracy, extract_answer, verify
from verifiers.math.grader import prepare_gold
from verifiers.registry import REGISTRY
from verifiers.types import Sample


def boxed(x: str) -> str:
    return f"So the final answer is $\\boxed{{{x}}}$."


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_integer_equals_itself_in_all_notations(n: int) -> None:
    notations = [str(n), f"{n:,}", f"{n}.0", f"\\frac{{{2 * n}}}{{2}}", f"{n}\\text{{ units}}"]
    if n >= 0:
        notations.append(f"{n:e}".replace("e+", "e") if n and len(str(n).rstrip("0")) <= 7 else str(n))
    for text in notations:
        assert verify(str(n), boxed(text)).score == 1.0, text


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=1, max_value=6))
def test_decimal_equals_itself(mantissa: int, decimals: int) -> None:
    value = Fraction(mantissa, 10**decimals)
    text = f"{float(value):.{decimals}f}"
    assert verify(text, boxed(text)).score == 1.0
    frac = f"\\frac{{{value.numerator}}}{{{value.denominator}}}"
    assert verify(frac, boxed(text)).score == 1.0


@given(st.integers(min_value=0, max_value=10**9), st.data())
def test_one_digit_change_is_rejected(n: int, data: st.DataObject) -> None:
    text = str(n)
    k = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    d = data.draw(st.sampled_from([c for c in "0123456789" if c != text[k]]))
    changed = text[:k] + d + text[k + 1:]
    assert verify(text, boxed(changed)).score == 0.0
    dec = text[:-1] + "." + text[-1] if len(text) > 1 else "0." + text
    dec_changed = changed[:-1] + "." + changed[-1] if len(changed) > 1 else "0." + changed
    assert verify(dec, boxed(dec_changed)).score == 0.0


@given(st.text(max_size=300), st.text(max_size=40))
def test_nothing_raises_on_arbitrary_text(completion: str, gold: str) -> None:
    for mode in ("strict", "lenient"):
        result = verify(gold, completion, mode=mode)
        assert result.score in (None, 0.0, 1.0)


@given(st.text(alphabet="\\{}^_()[]0123456789+-=x,$boxed frac", max_size=200))
def test_nothing_raises_on_latex_soup(completion: str) -> None:
    assert verify("\\frac{1}{2}", completion).score in (None, 0.0, 1.0)


def test_strict_has_no_unanchored_fallback() -> None:
    assert extract_answer("we get 5 and then 7", mode="strict").answer is None
    assert extract_answer("we get 5 and then 7", mode="lenient").answer == "7"


def test_extracted_answer_is_capped() -> None:
    result = verify("5", boxed("5" * 2000))
    assert (result.score, result.reason) == (0.0, "too_long")


def test_gold_is_parsed_once() -> None:
    prepare_gold.cache_clear()
    for _ in range(16):
        verify("\\frac{3}{8}", boxed("0.375"))
    assert prepare_gold.cache_info().misses == 1


def test_several_golds() -> None:
    assert verify(["5", "five"], boxed("five")).score == 1.0


def test_reward_registered_and_heavy() -> None:
    reward = REGISTRY.create("math")
    assert isinstance(reward, MathAccuracy) and reward.heavy and reward.requires == ("answer",)
    assert reward.default_deadline <= 2.0
    r = reward.score(Sample(completion=boxed("12"), answer="12"))
    assert (r.score, r.reason, r.info["extracted"]) == (1.0, "ok", "12")
    assert reward.score(Sample(completion=boxed("1"))).score is None
