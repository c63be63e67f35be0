"""Core costs: `import verifiers` time, and the worker pool's dispatch overhead and throughput."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.report import Table


def _noop(x: int) -> int:
    return x


def _import_ms(module: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        times.append(float(out) * 1e3)
    return statistics.median(times)


def run(quick: bool = False) -> list[Table]:
    from verifiers import WorkerPool

    runs = 3 if quick else 9
    imp = Table(
        "Import time (median of fresh interpreters)",
        ["module", "ms"],
        [[m, _import_ms(m, runs)] for m in ("verifiers", "math_verify", "langdetect", "torch")],
        notes=["`import verifiers` loads no reward back end; each family loads on first use."],
    )
    n = 500 if quick else 5000
    rows = []
    figures: dict[str, float] = {"import_verifiers_ms": imp.rows[0][1]}
    for workers in (1, 2):
        with WorkerPool(workers, default_deadline=10) as pool:
            pool.submit(_noop, 0).result()  # warm
            t0 = time.perf_counter()
            futures = [pool.submit(_noop, i) for i in range(n)]
            for f in futures:
                f.result()
            dt = time.perf_counter() - t0
            lat = []
            for i in range(200 if quick else 1000):
                t1 = time.perf_counter()
                pool.submit(_noop, i).result()
                lat.append((time.perf_counter() - t1) * 1e3)
        lat.sort()
        rows.append([workers, n / dt, 1e3 * dt / n, lat[len(lat) // 2], lat[int(0.99 * len(lat)) - 1]])
        figures[f"pool_{workers}w_tasks_per_s"] = n / dt
    figures["pool_roundtrip_p50_ms"] = rows[0][3]
    pool_t = Table(
        "Worker pool: no-op tasks (dispatch overhead)",
        ["workers", "tasks/s", "ms per task (throughput)", "round-trip p50 ms", "round-trip p99 ms"],
        rows,
        notes=["Target (research/trainer.md): dispatch overhead <= 0.5 ms per sample."],
        figures=figures,
    )
    return [imp, pool_t]
