"""Hostile inputs return within deadline + margin through the pool, from every execution context."""

from __future__ import annotations

import time

import pytest

from tests.verifiers.math.adversarial_inputs import ADVERSARIAL, CONTEXTS, PeakRss, run_in_context
from verifiers.compose import Composition
from verifiers.math import verify
from verifiers.pool import WorkerPool
from verifiers.types import Sample

DEADLINE = 1.0
# The bound is deadline + 50 ms; `python -m benchmarks math` prints the measured overrun per
# input and calling context (typically 20-110 ms here). This test only guards against a hang or a
# missed kill: 0.4 s does not flake on 2 cores shared by several busy processes, 50 ms would.
MARGIN = 0.4
RSS_LIMIT_MB = 1024


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


def _check(rows: list) -> None:
    assert [r[0] for r in rows] == list(ADVERSARIAL)
    for name, elapsed, _ in rows:
        assert elapsed < DEADLINE + MARGIN, (name, elapsed)


@pytest.mark.parametrize("context", CONTEXTS)
def test_returns_within_deadline(pool: WorkerPool, context: str) -> None:
    _check(run_in_context(context, pool, DEADLINE))


def test_worker_peak_rss_under_1gb() -> None:
    # the address-space cap (4 GB) is far above the bound, so this measures the workers' real peak
    with WorkerPool(2, default_deadline=DEADLINE, memory_limit_mb=4096, start_method="fork") as big:
        with PeakRss(big) as rss:
            run_in_context("main thread", big, DEADLINE)
    assert len(rss.peak_kb) >= 2  # both workers (and respawned ones) were sampled
    assert 0 < rss.max_mb() < RSS_LIMIT_MB, rss.peak_kb


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
