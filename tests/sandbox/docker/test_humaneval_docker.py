"""HumanEval on the Docker backend: all 164 canonical solutions pass (assert style, judged outside the
container), and for every problem a mechanical wrong variant (`tests.sandbox.mutants`) fails."""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox.types import AssertCase, Limits, Program
from tests.sandbox.conftest import SHARED
from tests.sandbox.mutants import mutants

pytestmark = pytest.mark.docker

PATH = SHARED / "data" / "code" / "HumanEval.jsonl.gz"
LIMITS = Limits(cpu_time_s=5.0)


@pytest.fixture(scope="module")
def problems() -> list[dict]:
    if not PATH.exists():
        pytest.skip(f"HumanEval not found at {PATH} (the tests look for it in ../shared/data/code)")
    with gzip.open(PATH, "rt") as fh:
        return [json.loads(line) for line in fh]


def _verdict(backend, p: dict, source: str):
    case = AssertCase(test=p["test"], entry_point=p["entry_point"], prelude=p["prompt"])
    return backend.run(Program("python", source), [case], limits=LIMITS)


def test_canonical_solutions_pass_in_containers(docker_backend, problems) -> None:
    assert len(problems) == 164

    def one(p: dict):
        return p["task_id"], _verdict(docker_backend, p, p["prompt"] + p["canonical_solution"])

    with ThreadPoolExecutor(docker_backend.parallelism) as ex:
        results = list(ex.map(one, problems))
    bad = [(tid, v.infra_error or v.outcomes) for tid, v in results if not v.all_passed]
    assert not bad, f"{len(bad)} canonical solutions did not pass: {bad[:3]}"
    assert {v.isolation.value for _, v in results} == {"container"}


def test_a_wrong_variant_of_every_problem_fails_in_containers(docker_backend, problems) -> None:
    def first_failing(p: dict):
        for label, src in mutants(p["prompt"] + p["canonical_solution"], p["entry_point"]):
            v = _verdict(docker_backend, p, src)
            assert v.infra_error is None, (p["task_id"], label, v.infra_error)
            if not v.all_passed:
                return p["task_id"], label
        return p["task_id"], None

    with ThreadPoolExecutor(docker_backend.parallelism) as ex:
        results = list(ex.map(first_failing, problems))
    survivors = [tid for tid, label in results if label is None]
    assert not survivors, f"no wrong variant failed for {survivors}"
