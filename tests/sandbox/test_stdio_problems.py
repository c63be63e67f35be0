"""Stdin/stdout problems (tests/data/code/stdio_problems.jsonl): every correct solution scores 1.0
through the `code` reward, every wrong one (off-by-one, wrong format, missed edge case) scores < 1.0."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from tests.sandbox.conftest import DATA
from verifiers.code import CodeReward
from verifiers.types import Sample

PROBLEMS = [
    json.loads(line) for line in (DATA / "stdio_problems.jsonl").read_text().splitlines() if line.strip()
]
REWARD = CodeReward(mode="fraction")


def _score(p: dict, src: str) -> float | None:
    return REWARD.score(Sample(completion=f"```python\n{src}```", tests=p["tests"])).score


def test_the_set_is_big_enough() -> None:
    assert len(PROBLEMS) >= 30
    assert all(p["wrong"] for p in PROBLEMS)


def test_correct_solutions_pass_and_wrong_ones_fail() -> None:
    jobs = [(p["id"], "correct", p, p["correct"]) for p in PROBLEMS]
    jobs += [(p["id"], f"wrong{i}", p, w) for p in PROBLEMS for i, w in enumerate(p["wrong"])]
    with ThreadPoolExecutor(2) as ex:
        scores = list(ex.map(lambda j: (j[0], j[1], _score(j[2], j[3])), jobs))
    bad = [(pid, kind, s) for pid, kind, s in scores if (s == 1.0) != (kind == "correct") or s is None]
    assert not bad, bad
