"""Hostile completions for the math verifier, and the harness that times them through a pool.

Shared by `test_adversarial.py` (bounds with a margin) and `benchmarks/math.py` (the measured
overrun table), so both exercise the same inputs in the same way.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from verifiers.math.grader import _verify_task
from verifiers.pool import WorkerPool

__all__ = ["ADVERSARIAL", "CONTEXTS", "ISSUE_65", "PeakRss", "run_in_context", "time_inputs"]

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
    "sympy_hang": "\\boxed{\\int_0^{\\infty} e^{-x^{9^{9}}}\\, \\Gamma(x^{x^{x}}) dx}",
}
CONTEXTS = ("main thread", "thread", "asyncio")


def time_inputs(pool: WorkerPool, deadline: float, gold: str = "5") -> list[tuple[str, float, Any]]:
    """(name, elapsed s, result or exception name) per input, each submitted whole to `pool`."""
    out = []
    for name, completion in ADVERSARIAL.items():
        start = time.monotonic()
        fut = pool.submit(_verify_task, gold, completion, "strict", 1000, deadline=deadline)
        try:
            result: Any = fut.result()
        except Exception as exc:  # TaskTimeout is the expected outcome for some inputs
            result = type(exc).__name__
        out.append((name, time.monotonic() - start, result))
    return out


def run_in_context(context: str, pool: WorkerPool, deadline: float) -> list[tuple[str, float, Any]]:
    """`time_inputs` called from the main thread, a plain thread, or `asyncio.to_thread`."""
    if context == "main thread":
        return time_inputs(pool, deadline)
    if context == "thread":
        rows: list[tuple[str, float, Any]] = []
        t = threading.Thread(target=lambda: rows.extend(time_inputs(pool, deadline)))
        t.start()
        t.join(timeout=120)
        if t.is_alive():
            raise TimeoutError("the calling thread did not return within 120 s")
        return rows

    async def main() -> list[tuple[str, float, Any]]:
        return await asyncio.to_thread(time_inputs, pool, deadline)

    return asyncio.run(main())


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class PeakRss:
    """Samples the RSS high-water mark (``VmHWM``) of every pool worker every `interval` seconds
    while active; `peak_kb` maps pid -> largest value seen (a worker killed at its deadline keeps
    the last sample taken before the kill)."""

    def __init__(self, pool: WorkerPool, interval: float = 0.01) -> None:
        self.pool = pool
        self.interval = interval
        self.peak_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in self.pool.pids():
            if pid:
                kb = _vm_hwm_kb(pid)
                if kb is not None:
                    self.peak_kb[pid] = max(kb, self.peak_kb.get(pid, 0))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def max_mb(self) -> float:
        return max(self.peak_kb.values(), default=0) / 1024
