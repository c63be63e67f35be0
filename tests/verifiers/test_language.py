"""Language consistency (`verifiers.language`): one named test per langdetect failure mode we must not
inherit (shared/research/shaping.md section 2), the CoT extraction, the labelled-set accuracy, and
the invariants (never raises, in range, deterministic across threads and processes)."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifiers import REGISTRY, ConfigError, Sample
from verifiers._lang import detect as ld
from verifiers.language import LanguageConsistency, chain_of_thought, language_ratio, normalize_language

DATA = Path(__file__).resolve().parents[1] / "data" / "language"


def _build_module():
    spec = importlib.util.spec_from_file_location("language_build", DATA / "build.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


BUILD = _build_module()
units = BUILD.units  # the generator's own unit count: an independent implementation of the definition


def ratio(text: str, target: str) -> float | None:
    return language_ratio(text, target).ratio


# -- langdetect failure modes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("Wait", "en", 1.0),  # langdetect: sw/fi
        ("Okay", "en", 1.0),  # langdetect: tl
        ("probability", "en", 1.0),  # langdetect: tl
        ("answer", "en", 1.0),  # langdetect: af
        ("Okay", "zh", 0.0),  # a Latin word in a Chinese CoT is foreign, by script
        ("因此", "en", 0.0),  # langdetect: ko
        ("因此", "zh", 1.0),
        ("Attends", "fr", 1.0),
    ],
)
def test_single_words_are_labelled_by_script_and_lexicon(text, target, expected):
    assert ratio(text, target) == expected


@pytest.mark.parametrize("text", ["12345", "3.14", "2 + 2 = 4", "  ", "", "x = 3, y = 4"])
def test_numbers_and_symbols_do_not_raise_and_have_no_language_units(text):
    # langdetect raises LangDetectException on "12345" and "3.14".
    assert language_ratio(text, "en").ratio is None
    result = LanguageConsistency(language="en").score(Sample(f"<think>{text}</think>"))
    assert result.score is None and result.reason == "no_language_units"


@pytest.mark.parametrize(
    "text", ["\\frac{1}{2}", "$\\frac{1}{2}$", "\\[ \\int_0^1 x^2 dx \\]", "\\boxed{\\frac{3}{4}}"]
)
def test_latex_is_not_language(text):
    # langdetect: \frac{1}{2} -> ca; a pure equation -> so (p = 0.99999).
    assert ratio(text, "en") is None


def test_let_x_equals_3_is_english():
    # langdetect: "Let x = 3." -> fr
    assert ratio("Let x = 3.", "en") == 1.0
    assert ratio("Let x = 3.", "fr") == 0.0


@pytest.mark.parametrize(
    "code",
    [
        "for i in range(10):\n    total += i\nprint(total)",  # langdetect: da
        "def f(x):\n    return x + 1",
        "```python\nfor word in words:\n    print(word)\n```",
        "`sorted(items, key=len)`\n`np.linalg.solve(A, b)`",
    ],
)
def test_code_is_not_language(code):
    assert ratio(code, "en") is None
    # Next to a Chinese sentence the code does not count as English.
    assert ratio("我们先写一个循环。\n" + code, "zh") == 1.0


def test_mixed_chinese_english_sentence_counts_both_parts():
    # langdetect: "好的，我们来计算 the sum of 2 and 3" -> en; "Hmm, 所以答案是 5" -> vi.
    count = language_ratio("好的，我们来计算 the sum of 2 and 3", "zh")
    assert count.by_label == {"zh": 7, "latin": 4}
    assert ratio("Hmm, 所以答案是 5", "zh") == 5 / 6


def test_minority_script_is_counted_not_deleted():
    # langdetect scores an English paragraph holding one Chinese sentence en 0.99999.
    english = "We add the two numbers and check the result carefully before moving on. " * 4
    chinese = "所以答案是五。"
    expected = units(english) / (units(english) + units(chinese))
    assert ratio(english + chinese + " " + english, "en") == pytest.approx(
        2 * units(english) / (2 * units(english) + units(chinese))
    )
    assert ratio(english + chinese, "en") == pytest.approx(expected)
    assert expected < 1.0


def test_french_sentence_inside_english_is_foreign():
    # langdetect: a French sentence inside English text -> en 0.99999 for the whole.
    en = "First we compute the sum of the two numbers and then we check it."
    fr = "Ensuite, nous vérifions que la somme est bien égale au résultat attendu."
    count = language_ratio(f"{en} {fr} {en}", "en")
    assert count.by_label.get("fr") == units(fr)
    assert count.ratio == pytest.approx(2 * units(en) / (2 * units(en) + units(fr)))


def test_text_past_10k_characters_is_read():
    # langdetect reads only the first 10,000 characters: a 20k CoT of 7k English then Chinese is "en".
    english = ""
    while len(english) < 7000:
        english += "Now we check whether the remainder is smaller than the divisor in this case. "
    chinese = ""
    while len(english) + len(chinese) < 20000:
        chinese += "所以余数小于除数，我们继续计算下一步。 $r_{k+1} = r_k$ 。"
    truth_non_en = units(chinese) / (units(english) + units(chinese))
    assert truth_non_en == pytest.approx(0.83, abs=0.02)
    result = LanguageConsistency(language="en").score(Sample(f"<think>{english}{chinese}</think>"))
    assert 1 - result.score == pytest.approx(truth_non_en, abs=1e-9)


def test_japanese_kanji_is_japanese_when_its_sentence_holds_kana():
    assert ratio("関数 f の最小値を求めます。", "ja") == 1.0
    assert language_ratio("関数 f の最小値を求めます。所以答案是五。", "ja").by_label == {"ja": 11, "zh": 6}


# -- determinism ----------------------------------------------------------------------------------

SAME_SCRIPT = (
    "Wait, la somme des deux nombres est égale à cinq. Quindi il valore della funzione è positivo. "
    "Het antwoord is dus gelijk aan vijf. Die Ableitung ist überall positiv. So the answer is five."
)


def test_same_text_same_result_every_call():
    first = language_ratio(SAME_SCRIPT, "fr")
    assert first.detect_calls > 0  # this text needs langdetect
    for _ in range(20):
        assert language_ratio(SAME_SCRIPT, "fr") == first


def test_cold_start_race_gives_identical_results():
    # 8 threads calling langdetect at once on a fresh factory: "Need to load profiles" or wrong labels
    # from a half-loaded factory (langdetect #30, #65). Ours loads once under a lock.
    expected = language_ratio(SAME_SCRIPT, "fr")
    for _ in range(2):
        ld._reset()
        barrier = threading.Barrier(8)
        results: list[object] = [None] * 8

        def work(i: int, barrier: threading.Barrier = barrier, results: list[object] = results) -> None:
            barrier.wait()
            results[i] = language_ratio(SAME_SCRIPT, "fr")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [expected] * 8


def test_global_langdetect_seed_is_untouched():
    from langdetect import DetectorFactory

    language_ratio(SAME_SCRIPT, "fr")
    assert DetectorFactory.seed is None


@pytest.fixture(scope="module")
def other_process():
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as ex:
        yield ex


TOKENS = st.sampled_from(
    [
        "Wait, ",
        "所以",
        "答案是",
        "。",
        "the sum is ",
        "la somme est ",
        "die Summe ist ",
        "сумма равна ",
        "です",
        "$x^2$",
        "\\frac{1}{2}",
        "```",
        "`f(x)`",
        " ",
        "\n",
        "42",
        ". ",
        "Quindi il valore ",
        "np.sum(a) ",
    ]
)
MIXED = st.lists(st.one_of(TOKENS, st.text(max_size=20)), max_size=30).map("".join)


@settings(max_examples=25)
@given(text=MIXED, target=st.sampled_from(["en", "zh", "fr", "ru", "ja"]))
def test_same_result_in_another_process(other_process, text, target):
    assert other_process.submit(language_ratio, text, target).result() == language_ratio(text, target)


# -- invariants -------------------------------------------------------------------------------------


@given(
    text=st.one_of(st.text(), MIXED), target=st.sampled_from(["en", "zh", "ja", "fr", "de", "ru", "es", "ko"])
)
def test_never_raises_and_stays_in_range(text, target):
    r = LanguageConsistency(language=target).score(Sample(text))
    assert r.score is None or 0.0 <= r.score <= 1.0
    assert (r.score is None) == (r.reason == "no_language_units")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "text",
    [
        "中" * 100_000,
        "a" * 100_000,
        "a." * 50_000,
        "a@" * 50_000,
        "x_" * 50_000,
        "\\(" * 50_000,
        "$$" + "中a" * 50_000,
        "```" + "\n    x = 1" * 20_000,
        "a(" * 50_000,
        "\\begin{a}" * 20_000,
    ],
)
def test_adversarial_long_inputs_finish(text):
    # A quadratic regex would hang on these (a hang guard, not a speed assertion).
    language_ratio(text, "en")


# -- CoT extraction and the reward object ---------------------------------------------------------


def test_only_the_chain_of_thought_is_read():
    r = LanguageConsistency(language="zh").score(Sample("<think>所以答案是五。</think>\n\nThe answer is 5."))
    assert r.score == 1.0 and r.info["cot"] == "think"


def test_prefilled_think_is_supported():
    completion = "所以答案是五。</think> The answer is 5."
    assert LanguageConsistency(language="zh").score(Sample(completion)).score == 1.0
    assert LanguageConsistency(language="zh", think_prefilled=True).score(Sample(completion)).score == 1.0
    # Prefilled and truncated: no closing tag, everything is chain of thought.
    truncated = LanguageConsistency(language="zh", think_prefilled=True).score(Sample("所以 the answer"))
    assert truncated.score == pytest.approx(2 / 4)


def test_no_think_tags_reads_the_whole_completion():
    assert chain_of_thought("The answer is 5.") == ("The answer is 5.", "whole")
    r = LanguageConsistency(language="en").score(Sample("The answer is 5."))
    assert r.score == 1.0 and r.info["cot"] == "whole"


def test_pure_math_or_code_cot_cannot_be_judged():
    completion = "<think>$$x^2 = 4$$\n```python\nprint(2)\n```\n\\boxed{2}</think> 2"
    r = LanguageConsistency(language="en").score(Sample(completion))
    assert r.score is None and r.reason == "no_language_units"


def test_target_language_from_sample_then_parameter():
    reward = LanguageConsistency(language="en")
    assert reward.score(Sample("所以答案是五。", language="zh")).score == 1.0
    assert reward.score(Sample("所以答案是五。")).score == 0.0
    missing = LanguageConsistency().score(Sample("所以答案是五。"))
    assert missing.score is None and missing.reason == "missing_field"


def test_unsupported_language_is_config_error_for_param_and_cannot_judge_for_sample():
    with pytest.raises(ConfigError, match="unsupported language 'klingon'"):
        LanguageConsistency(language="klingon")
    with pytest.raises(ConfigError, match="max_detect_calls"):
        LanguageConsistency(max_detect_calls=-1)
    r = LanguageConsistency().score(Sample("hello there", language="xx"))
    assert r.score is None and r.reason == "unsupported_language"


def test_language_codes_are_normalised():
    assert [normalize_language(c) for c in ("zh-CN", "zh_TW", "EN-us", "pt-BR", "jp", "xx")] == [
        "zh",
        "zh",
        "en",
        "pt",
        "ja",
        None,
    ]


def test_registered_heavy_and_picklable():
    import pickle

    reward = REGISTRY.create("language", language="fr")
    assert isinstance(reward, LanguageConsistency) and reward.heavy
    assert pickle.loads(pickle.dumps(reward)) == reward


# -- the labelled set -----------------------------------------------------------------------------


def _records() -> list[dict]:
    with (DATA / "cots.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_labelled_set_is_what_the_generator_builds():
    records = _records()
    assert records == json.loads(json.dumps(BUILD.build()))  # deterministic generator, committed output
    assert len(records) >= 500
    assert {r["language"] for r in records} >= {"zh", "ja", "en", "fr", "de", "ru", "es"}
    unmixed = sum(r["mix"] == 0 for r in records) / len(records)
    assert 0.25 <= unmixed <= 0.35


def test_heldout_mean_absolute_error_is_at_most_one_percent():
    errors: dict[str, list[float]] = {}
    reward = LanguageConsistency()
    for rec in _records():
        if rec["split"] != "heldout":
            continue
        got = reward.score(Sample(rec["completion"], language=rec["language"])).score
        errors.setdefault(rec["language"], []).append(abs(got - rec["ratio"]))
    everything = [e for errs in errors.values() for e in errs]
    mae = sum(everything) / len(everything)
    per_language = {k: round(sum(v) / len(v), 4) for k, v in errors.items()}
    assert mae <= 0.01, per_language


def test_docstring_examples_hold():
    import doctest

    import verifiers._lang.lexicon
    import verifiers._lang.mask
    import verifiers._lang.scripts
    import verifiers.language

    for module in (verifiers.language, verifiers._lang.mask, verifiers._lang.lexicon, verifiers._lang.scripts):
        assert doctest.testmod(module).failed == 0, module.__name__
