"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["latencies", "percentile_ms", "throughput"]


def throughput(one: Callable[[], None], n: int, threads: int = 2) -> float:
    """Calls per second with `threads` driver threads calling `one` about n times in total."""
    per = max(1, n // threads)
    barrier = threading.Barrier(threads + 1)

    def drive() -> None:
        barrier.wait()
        for _ in range(per):
            one()

    ts = [threading.Thread(target=drive) for _ in range(threads)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    return per * threads / (time.perf_counter() - t0)


def latencies(one: Callable[[], None], n: int) -> list[float]:
    """Seconds per call of `one`, n sequential calls, sorted."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        one()
        out.append(time.perf_counter() - t0)
    return sorted(out)


def percentile_ms(sorted_seconds: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted seconds, in milliseconds."""
    return sorted_seconds[min(len(sorted_seconds) - 1, int(q * len(sorted_seconds)))] * 1000
