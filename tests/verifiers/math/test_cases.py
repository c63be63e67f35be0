"""Labelled cases: every failure mode of research/math.md by name, and Math-Verify's own suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifiers.math import extract_answer, verify

CASES = Path(__file__).parent / "cases"
KNOWN = [json.loads(line) for line in (CASES / "known_failures.jsonl").read_text().splitlines() if line.strip()]
MV = [json.loads(line) for line in (CASES / "math_verify.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", KNOWN, ids=[c["name"] for c in KNOWN])
def test_known_failure_mode(case: dict) -> None:
    # one named case per false positive / false negative / hack listed in research/math.md (link in the file)
    result = verify(case["gold"], case["completion"])
    assert result.score == case["expected"], (case["link"], result)


def _mv_verdict(case: dict) -> int:
    gold = extract_answer(case["gold"], mode="lenient").answer or case["gold"]
    return 1 if verify(gold, case["pred"], mode=case["mode"]).score == 1.0 else 0


def test_math_verify_suite_agreement() -> None:
    # Math-Verify's parametrized (gold, pred, expected) triples, run as its helper runs them (lenient on
    # both sides). Rows marked "disagree" carry our label and a one-line reason (a Math-Verify bug or a
    # deliberate policy); agreement counts them at our label. Target of the issue: >= 99%, no false positive.
    verdicts = [_mv_verdict(c) for c in MV]
    misses = [(c["gold"], c["pred"][-80:], c["expected"]) for v, c in zip(verdicts, MV) if v != c["expected"]]
    false_pos = [m for m in misses if m[2] == 0]
    assert not false_pos, false_pos
    agree = 1 - len(misses) / len(MV)
    assert agree >= 0.99, (agree, misses)


def test_disagreements_are_few_and_explained() -> None:
    documented = [c for c in MV if "disagree" in c]
    assert len(documented) <= 12, len(documented)
    assert all(len(c["disagree"]) > 20 and c["expected"] != c["mv_expected"] for c in documented)


def test_documented_disagreements_hold() -> None:
    for case in (c for c in MV if "disagree" in c):
        assert _mv_verdict(case) == case["expected"], case
