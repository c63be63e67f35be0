"""Hostile inputs return within deadline + margin through the pool, from every execution context."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from verifiers.compose import Composition
from verifiers.math import verify
from verifiers.math.grader import _verify_task
from verifiers.pool import WorkerPool
from verifiers.types import Sample

DEADLINE = 1.0
MARGIN = 0.5  # generous: correctness, not speed (2 shared cores)
ISSUE_65 = "\\boxed{5^{5^{5^{5^{5}}}}} " + "\\frac{" * 40 + "x" + "}{y}" * 40
ADVERSARIAL = {
    "power_tower": "\\boxed{9^{9^{9^{9}}}}",
    "huge_power": "\\boxed{10^{10^{8}}}",
    "huge_int_power": "\\boxed{123456789^{987654321}}",
    "factorial": "\\boxed{100000!}",
    "poly_400": "\\boxed{" + "+".join(f"{k}x^{{{k}}}" for k in range(400)) + "}",
    "long_completion": "blah " * 20000 + "\\boxed{5}",
    "unbalanced": "\\boxed{\\frac{1}{2" + "{" * 5000,
    "issue_65": ISSUE_65,
    "symbolic_soup": "\\boxed{\\sum_{k=0}^{n} \\int_0^1 x^{k} dx \\oint \\nabla}",
}


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(2, default_deadline=DEADLINE, memory_limit_mb=1024, start_method="fork") as p:
        yield p


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_pure_path_is_bounded(name: str) -> None:
    # the fast path itself never hangs (budgets before powers/factorials); symbolic is deferred
    from verifiers.math.grader import NeedsSymbolic, _verify

    start = time.monotonic()
    try:
        _verify("5", ADVERSARIAL[name], "strict", symbolic=False, max_chars=1000)
    except NeedsSymbolic:
        pass
    assert time.monotonic() - start < DEADLINE + MARGIN


def _run_all(pool: WorkerPool) -> list[tuple[str, float, object]]:
    out = []
    for name, completion in ADVERSARIAL.items():
        start = time.monotonic()
        fut = pool.submit(_verify_task, "5", completion, "strict", 1000, deadline=DEADLINE)
        try:
            result = fut.result()
        except Exception as exc:  # TaskTimeout is the expected outcome for some inputs
            result = type(exc).__name__
        out.append((name, time.monotonic() - start, result))
    return out


def _check(rows: list[tuple[str, float, object]]) -> None:
    for name, elapsed, _ in rows:
        assert elapsed < DEADLINE + MARGIN, (name, elapsed)


def test_main_thread(pool: WorkerPool) -> None:
    _check(_run_all(pool))


def test_from_thread(pool: WorkerPool) -> None:
    rows: list = []
    t = threading.Thread(target=lambda: rows.extend(_run_all(pool)))
    t.start()
    t.join(timeout=60)
    assert rows and not t.is_alive()
    _check(rows)


def test_from_asyncio(pool: WorkerPool) -> None:
    async def main() -> list:
        return await asyncio.to_thread(_run_all, pool)

    _check(asyncio.run(main()))


def test_reward_through_composition(pool: WorkerPool) -> None:
    comp = Composition.from_config([{"name": "math", "deadline": DEADLINE}], pool=pool)
    samples = [Sample(completion=c, answer="5") for c in ADVERSARIAL.values()]
    start = time.monotonic()
    scored = comp.score(samples)
    assert time.monotonic() - start < len(samples) * (DEADLINE + MARGIN)
    assert scored[list(ADVERSARIAL).index("long_completion")].rewards["math"] == 1.0
    assert all(s.rewards["math"] in (None, 0.0, 1.0) for s in scored)
    assert len(pool.pids()) == 2 and all(p for p in pool.pids())


def test_verify_deadline_uses_shared_pool() -> None:
    # a leaf our parser cannot read goes to the shared pool under a sub-second deadline
    start = time.monotonic()
    r = verify("\\sum_{k=1}^{n} k", "\\boxed{\\sum_{k=1}^{n} k}", deadline=0.8)
    assert r.score == 1.0  # equal strings never need the symbolic step
    r = verify("\\sum_{k=1}^{n} k", "\\boxed{\\frac{n(n+1)}{2}}", deadline=0.8)
    assert r.reason in ("ok", "mismatch", "timeout")
    assert time.monotonic() - start < 10  # includes starting the shared pool once
