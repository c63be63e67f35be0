"""Reward server on loopback: requests per second and latency (p50/p99) for the `format` and `math`
rewards, in OpenRLHF's protocol, against the same scoring called in-process (the peer: what a
``reward_func`` file costs), so the ratio is the price of HTTP + JSON + the server's threads.

Load: C client threads, each sending POST /get_reward with a batch of B queries (B=1 is how
OpenRLHF calls now: one request per finished sample), until R requests are done or T seconds pass
(bounded; stops by itself). The server runs as deployed (``python -m verifiers serve`` in its own
process, so client threads do not share its interpreter lock); it scores through one Composition and its worker pool
(`math` is heavy: every item crosses to a worker process; `format` runs in the server's threads).
Completions are deterministic synthetic R1-style texts of about 1.5k characters with a boxed answer;
half are right. Wall-clock figures on a shared 2-core machine: read the in-run ratio, not the
absolute numbers.
"""

from __future__ import annotations

import http.client
import json
import math as _math
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.report import Table
from verifiers import REGISTRY, WorkerPool
from verifiers.adapters._common import resolve_terms
from verifiers.adapters.openrlhf import OpenRLHFReward

__all__ = ["run"]

WORKERS = 2
"""Worker processes of the server's pool and of the in-process peer's pool."""

PROMPT = "<|im_start|>user\nSolve the problem and put the final answer in \\boxed{{}}: {q}<|im_end|>\n<|im_start|>assistant\n"


def _items(n: int, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(seed)
    queries, prompts, labels = [], [], []
    for i in range(n):
        a, b = rng.randint(2, 999), rng.randint(2, 999)
        gold = a * b
        said = gold if i % 2 == 0 else gold + rng.randint(1, 9)
        steps = " ".join(f"Step {k}: we multiply partial products {a} and {b % (k + 2)} and carry." for k in range(20))
        prompt = PROMPT.format(q=f"What is {a} times {b}?")
        completion = f"<think>\n{steps}\n</think>\n<answer>\nThe product is $\\boxed{{{said}}}$.\n</answer><|im_end|>"
        prompts.append(prompt)
        queries.append(prompt + completion)
        labels.append(str(gold))
    return queries, prompts, labels


def _quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, _math.ceil(q * len(s)) - 1))] if s else float("nan")


def _load(port: int, items: tuple[list[str], list[str], list[str]], *, clients: int, batch: int,
          max_requests: int, max_seconds: float) -> dict[str, float]:
    """C threads, each with one keep-alive connection (stdlib http.client: little client CPU)."""
    queries, prompts, labels = items
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(max_requests))
    stop_at = time.monotonic() + max_seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        # TCP_NODELAY as OpenRLHF's clients have it (urllib3 and aiohttp set it)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                lo = (i * batch) % len(queries)
                payload = {"query": queries[lo:lo + batch], "prompts": prompts[lo:lo + batch],
                           "labels": labels[lo:lo + batch]}
                body = json.dumps(payload).encode()
                t0 = time.perf_counter()
                conn.request("POST", "/get_reward", body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                dt = time.perf_counter() - t0
                ok = resp.status == 200 and len(json.loads(data)["rewards"]) == len(payload["query"])
                with lock:
                    if ok:
                        latencies.append(dt)
                    else:
                        errors[0] += 1
        finally:
            conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    n = len(latencies)
    return {"requests": n, "errors": errors[0], "rps": n / wall if wall else 0.0, "items_per_s": n * batch / wall,
            "p50_ms": 1e3 * _quantile(latencies, 0.5), "p99_ms": 1e3 * _quantile(latencies, 0.99)}


@contextmanager
def _server(name: str, workers: int) -> Iterator[int]:
    """`python -m verifiers serve` in a subprocess (as deployed); yields its port once /health answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "verifiers", "serve", "--rewards", name, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                raise RuntimeError(f"reward server for {name!r} did not start: {err}")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def _direct(reward: OpenRLHFReward, items: tuple[list[str], list[str], list[str]], *, batch: int,
            max_requests: int, max_seconds: float) -> dict[str, float]:
    """The peer: the same scoring as an in-process reward_func call, one caller."""
    queries, prompts, labels = items
    latencies: list[float] = []
    stop_at = time.monotonic() + max_seconds
    t0 = time.perf_counter()
    for i in range(max_requests):
        if time.monotonic() >= stop_at:
            break
        lo = (i * batch) % len(queries)
        t = time.perf_counter()
        reward.score_lists(queries[lo:lo + batch], prompts[lo:lo + batch], labels[lo:lo + batch])
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    n = len(latencies)
    return {"rps": n / wall, "items_per_s": n * batch / wall, "p50_ms": 1e3 * _quantile(latencies, 0.5),
            "p99_ms": 1e3 * _quantile(latencies, 0.99)}


def run(quick: bool = False) -> list[Table]:
    rewards = [r for r in ("format", "math") if r in REGISTRY]
    notes = []
    if "math" not in REGISTRY:
        notes.append("math is not registered in this build: skipped")
    clients = 4
    settings = [(1, 60 if quick else 400), (16, 10 if quick else 60)]  # (batch, max requests)
    max_seconds = 3.0 if quick else 20.0
    items = _items(256)
    rows: list[list[Any]] = []
    figures: dict[str, Any] = {}
    with WorkerPool(WORKERS, default_deadline=5.0) as pool:
        for name in rewards:
            terms = resolve_terms(name)
            reward = OpenRLHFReward(terms, pool=pool)
            reward.score_lists(*[x[:4] for x in items])  # warm the workers (imports, caches)
            with _server(name, WORKERS) as port:
                _load(port, items, clients=2, batch=1, max_requests=8, max_seconds=5)  # warm-up
                for batch, max_requests in settings:
                    srv = _load(port, items, clients=clients, batch=batch, max_requests=max_requests,
                                max_seconds=max_seconds)
                    peer = _direct(reward, items, batch=batch, max_requests=max_requests, max_seconds=max_seconds)
                    ratio = srv["items_per_s"] / peer["items_per_s"] if peer["items_per_s"] else float("nan")
                    rows.append([name, batch, clients, srv["requests"], srv["errors"], srv["rps"], srv["items_per_s"],
                                 srv["p50_ms"], srv["p99_ms"], peer["items_per_s"], peer["p99_ms"], ratio])
                    figures[f"{name}_b{batch}_rps"] = round(srv["rps"], 1)
                    figures[f"{name}_b{batch}_p99_ms"] = round(srv["p99_ms"], 2)
                    figures[f"{name}_b{batch}_vs_inprocess"] = round(ratio, 3)
    notes += [
        f"server: `python -m verifiers serve --workers {WORKERS}` in its own process; {clients} client threads "
        f"(http.client, keep-alive, TCP_NODELAY) on loopback, bounded to the request count shown or "
        f"{max_seconds:g} s per cell; server, workers and clients share this machine's cores.",
        "in-process = OpenRLHFReward.score_lists from one thread (no HTTP, no JSON): the cost of the same "
        "scoring as a reward_func file; ratio = server items/s / in-process items/s.",
        "errors counts non-200 answers or wrong-length replies (should be 0).",
    ]
    table = Table(
        title="Reward server (OpenRLHF /get_reward) on loopback",
        columns=["reward", "batch", "clients", "requests", "errors", "req/s", "items/s", "p50 ms", "p99 ms",
                 "in-process items/s", "in-process p99 ms", "server / in-process"],
        rows=rows, notes=notes, figures=figures,
    )
    return [table]
