"""HumanEval for real: every canonical solution passes the `code` reward (assert style), and for every
problem at least one mechanical wrong variant (off-by-one, flipped comparison, return None) fails."""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.sandbox.conftest import SHARED
from tests.sandbox.mutants import mutants
from verifiers.code import CodeReward
from verifiers.types import Sample

PATH = SHARED / "data" / "code" / "HumanEval.jsonl.gz"


def _problems() -> list[dict]:
    if not PATH.exists():
        pytest.skip(f"HumanEval not found at {PATH} (the tests look for it in ../shared/data/code)")
    with gzip.open(PATH, "rt") as fh:
        return [json.loads(line) for line in fh]


def _sample(p: dict, source: str) -> Sample:
    tests = {"style": "assert", "entry_point": p["entry_point"], "test": p["test"], "prelude": p["prompt"]}
    return Sample(completion=f"Here it is:\n```python\n{source}\n```\n", tests=tests)


REWARD = CodeReward(mode="all", cpu_time_s=5.0)


def test_canonical_solutions_all_pass() -> None:
    problems = _problems()
    assert len(problems) == 164

    def score(p: dict):
        return p["task_id"], REWARD.score(_sample(p, p["prompt"] + p["canonical_solution"]))

    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(score, problems))
    bad = [(tid, r) for tid, r in results if r.score != 1.0]
    assert not bad, f"{len(bad)} canonical solutions did not pass: {bad[:5]}"
    assert {r.info["isolation"] for _, r in results} <= {"full", "seccomp"}  # never unconfined


def test_every_problem_has_a_failing_wrong_variant() -> None:
    problems = _problems()

    def first_failing(p: dict):
        tried = []
        for label, src in mutants(p["prompt"] + p["canonical_solution"], p["entry_point"]):
            r = REWARD.score(_sample(p, src))
            assert r.score is not None, (p["task_id"], label, r)
            tried.append(label)
            if r.score == 0.0:
                return p["task_id"], label, tried
        return p["task_id"], None, tried

    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(first_failing, problems))
    survivors = [(tid, tried) for tid, label, tried in results if label is None]
    assert not survivors, f"problems where no wrong variant failed: {survivors}"
