"""Docker backend throughput and latency vs ``docker run --rm`` per test, on a private engine.

The sandbox benchmark calls `docker_section`; run alone with ``python -m benchmarks.sandbox_docker [--quick]``.
It starts its own private ``dockerd`` (sandbox/docker_engine.py) and stops it at the end; with no
dockerd installed (and no engine answering) it returns one table saying so.

Same trivial test as the sandbox benchmark (read an int, print it plus one), four ways:

* docker backend, 1 and 2 workers: `sandbox.docker_backend.DockerBackend`, a long-lived container per
  worker whose zygote forks one hardened child per test; jobs travel over a Unix socket as memfds.
* embedded backend, 2 workers (the same zygote without a container), for the cost of the container.
* ``docker run --rm -i --network none --read-only`` per test: the naive way, a container per test.
* ``docker exec -i`` per test into one running container.

Latency is the supervisor's end-to-end time for one execution with one driver; executions/s use one
driver thread per worker. Ratios compare with ``docker run --rm`` measured in the same run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from contextlib import closing

from benchmarks.report import Table
from benchmarks.timing import latencies, percentile_ms, throughput

__all__ = ["docker_section", "run"]

PROGRAM = "print(int(input()) + 1)\n"
STDIN = b"41\n"


def _cli_runner(base_url: str, args: list[str]) -> Callable[[], None]:
    cli = shutil.which("docker")
    assert cli is not None

    def one() -> None:
        r = subprocess.run(
            [cli, "-H", base_url, *args], input=STDIN, capture_output=True, timeout=60, check=False
        )
        if r.stdout != b"42\n":
            raise RuntimeError(f"docker CLI run failed: {r.returncode} {r.stderr[-300:]!r}")

    return one


def docker_section(quick: bool) -> list[Table]:
    """Tables for the Docker backend (an explanatory table instead when no engine can be had)."""
    from sandbox.docker_backend import DockerBackend
    from sandbox.docker_engine import (
        DockerEngineError,
        dockerd_path,
        ensure_image,
        host_mounts,
        start_private_engine,
    )
    from sandbox.embedded import EmbeddedBackend
    from sandbox.types import Job, Limits

    title = "Docker backend vs a container per test (trivial Python test)"
    if dockerd_path() is None:
        return [
            Table(
                title, ["what"], [["skipped"]], notes=["dockerd is not installed: apt-get install docker.io"]
            )
        ]
    t0 = time.perf_counter()
    try:
        engine = start_private_engine()
    except DockerEngineError as exc:
        return [Table(title, ["what"], [["skipped"]], notes=[f"the private engine did not start: {exc}"])]
    engine_s = time.perf_counter() - t0
    n_lat, n_thr, n_naive = (200, 400, 6) if quick else (2000, 4000, 30)
    job = Job("script", PROGRAM, stdin=STDIN, limits=Limits())
    rows: list[list[object]] = []
    figures: dict[str, object] = {"engine_start_s": round(engine_s, 2)}
    try:
        # --- ours -------------------------------------------------------------------------------
        def one_of(backend: object) -> Callable[[], None]:
            def one() -> None:
                res = backend.execute(job)  # type: ignore[attr-defined]
                if res.stdout != b"42\n":
                    raise RuntimeError(f"unexpected result {res}")

            return one

        t0 = time.perf_counter()
        with DockerBackend(engine=engine, workers=1) as b1:
            first_container_s = time.perf_counter() - t0
            one = one_of(b1)
            for _ in range(20):
                one()
            lat1 = latencies(one, n_lat)
            thr1 = throughput(one, n_thr // 2, 1)
        with DockerBackend(engine=engine, workers=2) as b2:
            one = one_of(b2)
            throughput(one, 40, 2)  # start the second container before timing
            thr2 = throughput(one, n_thr, 2)
        emb_thr = emb_p50 = float("nan")
        try:
            with EmbeddedBackend(workers=2) as emb:
                one = one_of(emb)
                throughput(one, 40, 2)
                emb_thr = throughput(one, n_thr, 2)
                emb_p50 = percentile_ms(latencies(one, n_lat // 2), 0.5)
        except Exception:  # noqa: BLE001  (context only; the Docker figures stand alone)
            pass
        # --- naive baselines --------------------------------------------------------------------
        with closing(engine.client()) as client:
            image = ensure_image(client)
            bind, _ = host_mounts()
            vols = [a for d in bind for a in ("-v", f"{d}:{d}:ro")]
            py = ["/usr/bin/python3", "-I", "-S", "-c", PROGRAM]
            run_rm = _cli_runner(
                engine.base_url, ["run", "--rm", "-i", "--network", "none", "--read-only", *vols, image, *py]
            )
            run_rm()
            lat_rm = latencies(run_rm, n_naive)
            box = client.containers.run(
                image,
                ["/usr/bin/python3", "-c", "import time; time.sleep(3600)"],
                detach=True,
                network_mode="none",
                read_only=True,
                volumes={d: {"bind": d, "mode": "ro"} for d in bind},
            )
            try:
                exec_one = _cli_runner(engine.base_url, ["exec", "-i", box.id, *py])
                exec_one()
                lat_exec = latencies(exec_one, n_naive)
            finally:
                box.remove(force=True)
    finally:
        engine.stop()
    rm_per_s = 1 / statistics.mean(lat_rm)
    exec_per_s = 1 / statistics.mean(lat_exec)
    rows = [
        ["docker backend, 1 worker", thr1, percentile_ms(lat1, 0.5), percentile_ms(lat1, 0.99), thr1 / rm_per_s],
        ["docker backend, 2 workers", thr2, float("nan"), float("nan"), thr2 / rm_per_s],
        ["embedded backend, 2 workers", emb_thr, emb_p50, float("nan"), emb_thr / rm_per_s],
        [
            "docker exec -i per test",
            exec_per_s,
            percentile_ms(lat_exec, 0.5),
            percentile_ms(lat_exec, 0.99),
            exec_per_s / rm_per_s,
        ],
        ["docker run --rm -i per test", rm_per_s, percentile_ms(lat_rm, 0.5), percentile_ms(lat_rm, 0.99), 1.0],
    ]
    figures.update(
        docker_exec_per_s_1w=round(thr1, 1),
        docker_exec_per_s_2w=round(thr2, 1),
        docker_p50_ms=round(percentile_ms(lat1, 0.5), 2),
        docker_p99_ms=round(percentile_ms(lat1, 0.99), 2),
        docker_run_rm_per_s=round(rm_per_s, 2),
        docker_vs_run_rm=round(thr2 / rm_per_s, 1),
        docker_vs_embedded=round(thr2 / emb_thr, 2) if emb_thr == emb_thr else None,
        first_container_s=round(first_container_s, 2),
    )
    notes = [
        f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work shares the "
        "machine; compare rows of one run, not runs).",
        f"private dockerd {engine_s:.1f} s to answer; backend with its first container {first_container_s:.2f} s.",
        f"{n_lat} latency samples and {n_thr} executions for throughput per backend row; "
        f"{n_naive} samples per naive row (each is a full container start or exec).",
        "ratio = executions/s over `docker run --rm` per test, same run, same engine, same image and program.",
        "the embedded row runs the same zygote without a container: the gap is the cost of the container "
        "(cgroup limits, one CPU per container) plus the socket hop.",
    ]
    return [
        Table(title, ["way", "executions/s", "p50 ms", "p99 ms", "x docker run --rm"], rows, notes, figures)
    ]


def run(quick: bool = False) -> list[Table]:
    """Entry point for ``python -m benchmarks`` style runners."""
    return docker_section(quick)


if __name__ == "__main__":
    import json
    import sys

    from benchmarks.report import format_table

    tables = docker_section("--quick" in sys.argv)
    for t in tables:
        print(format_table(t), "\n")
    print(json.dumps({k: v for t in tables for k, v in t.figures.items()}, default=str))
