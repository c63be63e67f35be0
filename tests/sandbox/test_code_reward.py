"""The `code` reward: extraction, the tests schema, scoring modes, None on sandbox failure, and running
inside the verifiers worker pool (a killed worker leaves no sandbox process behind)."""

from __future__ import annotations

import os
import time

import pytest

from sandbox.canonical import decode, encode
from verifiers.code import CodeReward, extract_code, parse_tests
from verifiers.compose import Composition
from verifiers.registry import REGISTRY
from verifiers.types import Sample

ADD = {
    "style": "call",
    "entry_point": "add",
    "cases": [{"args": [1, 2], "expected": 3}, {"args": [2, 2], "expected": 4}],
}


def fenced(src: str, lang: str = "python") -> str:
    return f"Reasoning...\n```{lang}\n{src}\n```\nDone."


@pytest.mark.parametrize(
    "text, block, want",
    [
        ("```python\na\n```\n```python\nb\n```", "last", "b\n"),  # last block by default
        ("```python\na\n```\n```python\nb\n```", "first", "a\n"),
        ("```js\nx\n```\n```py\ny\n```", "last", "y\n"),  # another language is skipped
        ("```\nplain\n```", "last", "plain\n"),  # untagged block accepted
        ("no code here", "last", None),
        ("print(1)", "whole", "print(1)"),
    ],
)
def test_extract_code(text: str, block: str, want: str | None) -> None:
    assert extract_code(text, block=block) == want


def test_registered_as_heavy() -> None:
    r = REGISTRY.create("code", mode="all")
    assert r.heavy and r.requires == ("tests",) and r.mode == "all"


def test_modes_fraction_and_all() -> None:
    half = fenced("def add(a, b):\n    return 3")
    assert CodeReward().score(Sample(completion=half, tests=ADD)).score == 0.5
    assert CodeReward(mode="all").score(Sample(completion=half, tests=ADD)).score == 0.0
    good = fenced("def add(a, b):\n    return a + b")
    r = CodeReward(mode="all").score(Sample(completion=good, tests=ADD))
    assert r.score == 1.0 and r.info["isolation"] in ("full", "seccomp")


def test_no_code_is_zero_not_none() -> None:
    r = CodeReward().score(Sample(completion="I think the answer is 3.", tests=ADD))
    assert r.score == 0.0 and r.reason == "no_answer"


def test_missing_tests_is_none() -> None:
    r = CodeReward().score(Sample(completion=fenced("print(1)")))
    assert r.score is None and r.reason == "missing_field"


@pytest.mark.parametrize(
    "tests",
    [
        {"style": "stdio", "cases": []},
        {"style": "call", "cases": [{"args": [1], "expected": 1}]},  # no entry_point
        {"style": "call", "entry_point": "f", "cases": [{"expected": 1}]},
        {"style": "assert", "entry_point": "f"},
        {"style": "fuzzy", "cases": [{"input": "", "output": ""}]},
        "print(1)",
    ],
)
def test_malformed_tests_raise_clearly(tests: object) -> None:
    with pytest.raises(ValueError, match="tests"):
        parse_tests(tests)


def test_canonical_roundtrip_keeps_types() -> None:
    v = [1, 2.5, float("inf"), (1, "a"), {"k": [None, True]}, {3, 4}, b"\x00", -0.0]
    assert decode(encode(v)) == v
    assert type(decode(encode((1,)))) is tuple


def test_runs_in_the_worker_pool_and_killing_the_worker_leaks_nothing() -> None:
    from tests.sandbox.test_attacks import sandbox_uid_processes
    from verifiers.pool import WorkerPool

    samples = [Sample(completion=fenced("def add(a, b):\n    return a + b"), tests=ADD)]
    hang = Sample(completion=fenced("def add(a, b):\n    while True:\n        pass"), tests=ADD)
    with WorkerPool(1, default_deadline=30) as pool:
        comp = Composition.from_config([{"name": "code", "deadline": 30}], pool=pool)
        assert comp.score(samples)[0].rewards["code"] == 1.0
        (worker_pid,) = pool.pids()
        zygotes = _children_of(worker_pid)
        assert zygotes, "the worker should have started its sandbox (the zygotes are its children)"
        # a deadline shorter than the CPU limit: the pool kills the worker's process group mid-run
        comp = Composition.from_config(
            [{"name": "code", "deadline": 0.5, "params": {"cpu_time_s": 5.0}}], pool=pool
        )
        out = comp.score([hang])[0]
        assert out.rewards["code"] is None
        time.sleep(0.5)
        assert sandbox_uid_processes(worker_pid) == []
        for z in zygotes:
            assert not os.path.exists(f"/proc/{z}") or _is_zombie(z), f"zygote {z} outlived its worker"


def _children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_no_isolation_needs_an_explicit_opt_in() -> None:
    from sandbox import BackendError, Isolation, Job, Status
    from sandbox.embedded import EmbeddedBackend

    with pytest.raises(BackendError, match="allow_unsafe"):
        EmbeddedBackend(workers=1, level="none")
    with EmbeddedBackend(workers=1, level="none", allow_unsafe=True) as b:
        res = b.execute(Job("script", "print(1)"))
        assert res.status is Status.OK and res.isolation is Isolation.NONE


def test_every_result_reports_its_isolation_level() -> None:
    from sandbox import Isolation, Job
    from sandbox.embedded import EmbeddedBackend

    with EmbeddedBackend(workers=1, level="seccomp") as b:
        assert b.execute(Job("script", "import socket\nsocket.socket()")).isolation is Isolation.SECCOMP
        assert b.execute(Job("script", "import socket\nsocket.socket()")).status.value == "runtime_error"
