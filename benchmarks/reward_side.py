"""The trainer's reward side under load (CPU only): how much reward time is left on the critical path,
and what a hanging reward costs.

The trainer's own rollout code (`trainer.rollout.collect_rollout`) runs with a generator stand-in
that sleeps a set time per chunk (the GPU's generation time) and returns R1-format completions with
unique numbers (math-verify caches repeated strings), a log-prob stand-in that sleeps (old/ref
log-probs on the GPU), and a backward stand-in that sleeps. The rewards are real: math, format and
language consistency, in a real worker pool.

1. Exposed reward time: streamed (each chunk scored while the next generates) vs the peer design
   (generate everything, then score: TRL's synchronous path), same samples, same pool, same run.
   Target: exposed <= 2% of step time.
2. Hang injection: 1% of samples carry a flag that makes the test-only `bench_hang` reward (heavy,
   registered here) spin forever; its worker is killed at the deadline. Target: a step with a hang
   takes at most the normal step time + deadline + 0.5 s, and the process count stays constant over
   1,000 steps.

This module imports no torch at import time: pool workers unpickle `HangReward` from it.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from benchmarks.report import Table
from verifiers import Composition, Reward, RewardResult, Sample, WorkerPool, register

HANG_DEADLINE = 0.5
"""Seconds the hanging reward may run before its worker is killed."""
HANG_MARKER = "[hang]"
"""A completion holding this makes `bench_hang` spin forever."""


@register("bench_hang")
class HangReward(Reward):
    """Test-only: spins forever on completions holding the marker ``[hang]`` (else scores 0)."""

    heavy: ClassVar[bool] = True
    default_deadline: ClassVar[float] = HANG_DEADLINE

    def score(self, sample: Sample) -> RewardResult:
        if HANG_MARKER in sample.completion:
            while True:
                pass
        return RewardResult(0.0)


_WORDS = [
    "first",
    "add",
    "the",
    "ones",
    "digits",
    "then",
    "tens",
    "carry",
    "so",
    "we",
    "get",
    "check",
    "again",
]


def _completion(rng: random.Random, a: int, b: int) -> str:
    """An R1-format completion: English reasoning, a boxed or tagged answer, right ~60% of the time."""
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 60)))
    answer = a + b if rng.random() < 0.6 else a + b + rng.choice([-10, -1, 1, 10])
    if rng.random() < 0.5:
        return f"<think>{words}. {a} + {b} = {answer}.</think><answer>{answer}</answer>"
    return f"<think>{words}. So {a}+{b} is {answer}.</think><answer>$\\boxed{{{answer}}}$</answer>"


def _records(rng: random.Random, n: int, hang_rate: float, group_size: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        a, b = rng.randint(10**3, 10**6), rng.randint(10**3, 10**6)
        texts = [
            _completion(rng, a, b) + (HANG_MARKER if rng.random() < hang_rate else "")
            for _ in range(group_size)
        ]
        out.append({"prompt": f"What is {a} + {b}?", "answer": str(a + b), "language": "en", "_texts": texts})
    return out


class _Stand_in:
    """Generator and GPU stand-ins: sleep, and hand back the records' prepared completions."""

    def __init__(self, gen_s: float, group_size: int) -> None:
        self.gen_s = gen_s
        self.g = group_size

    def generate(self, records: Sequence[Mapping[str, Any]]) -> Any:
        import torch

        from trainer.rollout import Chunk

        time.sleep(self.gen_s)
        texts = [t for r in records for t in r["_texts"]]
        n = len(texts)
        ids = torch.ones(n, 8, dtype=torch.long)
        return Chunk(
            ids,
            torch.ones_like(ids),
            torch.ones(n, 16, dtype=torch.long),
            torch.ones(n, 16, dtype=torch.long),
            torch.zeros(n, dtype=torch.bool),
            texts,
        )


def _composition(pool: WorkerPool, with_hang: bool) -> Composition:
    terms: list[dict[str, Any]] = [
        {"name": "math", "weight": 1.0},
        {"name": "format", "weight": 0.2},
        {"name": "language", "weight": 0.1, "on_none": "skip"},
    ]
    if with_hang:
        terms.append({"name": "bench_hang", "weight": 0.0, "deadline": HANG_DEADLINE})
    return Composition.from_config(terms, pool=pool)


def _start_pool(workers: int) -> WorkerPool:
    """A forkserver pool whose server has the reward modules (and this one) imported, so a worker
    replacing a killed one starts in milliseconds."""
    import multiprocessing as mp
    from multiprocessing import forkserver

    mp.get_context("forkserver").set_forkserver_preload(
        ["verifiers", "verifiers.math", "verifiers.format", "verifiers.language", "benchmarks.reward_side"]
    )
    forkserver.ensure_running()
    pool = WorkerPool(workers, default_deadline=10.0, start_method="forkserver")
    warm = _composition(pool, with_hang=False)
    rng = random.Random(0)
    for _ in range(3):  # first calls import lazily-loaded parts of the rewards
        warm.score(
            [
                Sample(completion=_completion(rng, 12, 34), answer="46", language="en")
                for _ in range(4 * workers)
            ]
        )
    return pool


def _descendants() -> int:
    """Processes below this one (pool workers, the fork server)."""
    me = os.getpid()
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    count, stack = 0, [me]
    while stack:
        for c in children.get(stack.pop(), []):
            count += 1
            stack.append(c)
    return count


def _streamed_step(
    comp: Composition,
    records: list[dict[str, Any]],
    g: int,
    chunks: int,
    gen_s: float,
    logprob_s: float,
    backward_s: float,
) -> dict[str, float]:
    from trainer.rollout import collect_rollout

    stand_in = _Stand_in(gen_s, g)
    t0 = time.perf_counter()
    rollout = collect_rollout(
        records,
        generate=stand_in.generate,
        composition=comp,
        group_size=g,
        chunks=chunks,
        pad_id=0,
        after_generation=lambda batch: time.sleep(logprob_s) or {},
    )
    time.sleep(backward_s)
    step = time.perf_counter() - t0
    return {
        "step": step,
        "exposed": rollout.timings["reward_exposed"],
        "n": float(len(rollout.scored)),
        "timeouts": float(sum(s.reasons.get("bench_hang") == "timeout" for s in rollout.scored)),
    }


def _sync_step(
    comp: Composition,
    records: list[dict[str, Any]],
    g: int,
    chunks: int,
    gen_s: float,
    logprob_s: float,
    backward_s: float,
) -> dict[str, float]:
    """The peer: generate every chunk, then score everything and wait, then log-probs and backward."""
    t0 = time.perf_counter()
    time.sleep(gen_s * chunks)
    samples = [
        Sample(completion=t, prompt=r["prompt"], answer=r["answer"], language="en", group=i)
        for i, r in enumerate(records)
        for t in r["_texts"]
    ]
    t1 = time.perf_counter()
    comp.score(samples)
    exposed = time.perf_counter() - t1
    time.sleep(logprob_s + backward_s)
    return {"step": time.perf_counter() - t0, "exposed": exposed, "n": float(len(samples)), "timeouts": 0.0}


def run(quick: bool = False) -> list[Table]:
    workers = 2
    pool = _start_pool(workers)
    try:
        return [_exposed_table(pool, quick), _hang_table(pool, quick)]
    finally:
        pool.shutdown()


def _exposed_table(pool: WorkerPool, quick: bool) -> Table:
    prompts, g, chunks = (8, 8, 4) if quick else (32, 8, 4)
    gen_s, logprob_s, backward_s = 0.4, 0.3, 0.5
    steps = 1 if quick else 10
    comp = _composition(pool, with_hang=False)
    rng = random.Random(1)
    rows, figures = [], {}
    for name, fn in (("streamed (trainer)", _streamed_step), ("generate-then-score (peer)", _sync_step)):
        results = [
            fn(comp, _records(rng, prompts, 0.0, g), g, chunks, gen_s, logprob_s, backward_s)
            for _ in range(steps)
        ]
        step = sum(r["step"] for r in results)
        exposed = sum(r["exposed"] for r in results)
        rows.append(
            [
                name,
                steps,
                int(results[0]["n"]),
                statistics.fmean(r["step"] for r in results),
                1e3 * exposed / steps,
                100 * exposed / step,
            ]
        )
        figures[name.split()[0] + "_exposed_pct"] = round(100 * exposed / step, 3)
    cpu = comp.metrics()
    ratio = figures["generate-then-score_exposed_pct"] / max(figures["streamed_exposed_pct"], 1e-9)
    figures["exposed_ratio_peer_over_streamed"] = round(ratio, 1)
    return Table(
        title="Reward time exposed on the critical path (math + format + language, 2 workers)",
        columns=["design", "steps", "samples/step", "step s", "exposed ms/step", "exposed % of step"],
        rows=rows,
        notes=[
            f"stand-ins: generation {gen_s} s per chunk x {chunks} chunks, log-probs {logprob_s} s, backward "
            f"{backward_s} s; rewards real, in a forkserver pool of {pool.size} workers",
            f"math latency p50 {cpu['math']['latency_p50_ms']:.2f} ms, p99 {cpu['math']['latency_p99_ms']:.2f} ms; "
            f"language p50 {cpu['language']['latency_p50_ms']:.2f} ms (per sample, in workers)",
            "target: streamed exposed <= 2% of step time",
            f"peer / streamed exposed share: {ratio:.1f}x",
        ],
        figures=figures,
    )


def _hang_table(pool: WorkerPool, quick: bool) -> Table:
    prompts, g, chunks = 2, 4, 2
    gen_s, logprob_s, backward_s = 0.02, 0.01, 0.01
    steps = 40 if quick else 1000
    rate = 0.01 if not quick else 0.05
    comp = _composition(pool, with_hang=True)
    rng = random.Random(2)
    procs = [_descendants()]
    normal, hang_steps = [], []
    t_all = time.perf_counter()
    for i in range(steps):
        records = _records(rng, prompts, rate, g)
        n_hang = sum(HANG_MARKER in t for r in records for t in r["_texts"])
        res = _streamed_step(comp, records, g, chunks, gen_s, logprob_s, backward_s)
        (hang_steps if n_hang else normal).append((res["step"], n_hang, res["timeouts"]))
        if (i + 1) % 100 == 0:
            procs.append(_descendants())
    wall = time.perf_counter() - t_all
    base = statistics.median(s for s, _, _ in normal)
    p99 = sorted(s for s, _, _ in normal)[int(0.99 * (len(normal) - 1))]
    bound = base + HANG_DEADLINE * 1 + 0.5
    worst = max((s for s, _, _ in hang_steps), default=float("nan"))
    over = sum(s > base + HANG_DEADLINE * -(-n // pool.size) + 0.5 for s, n, _ in hang_steps)
    timeouts = int(sum(t for _, _, t in hang_steps))
    figures = {
        "hang_steps": len(hang_steps),
        "timeouts": timeouts,
        "normal_step_median_s": round(base, 3),
        "worst_hang_step_s": round(worst, 3),
        "bound_s": round(bound, 3),
        "steps_over_bound": over,
        "process_count_min": min(procs),
        "process_count_max": max(procs),
        "steps": steps,
    }
    return Table(
        title=f"Hang injection: {100 * rate:g}% of samples make a reward spin forever ({steps} steps)",
        columns=[
            "steps",
            "steps with a hang",
            "timeouts",
            "normal step median s",
            "normal p99 s",
            "worst hang step s",
            "bound s",
            "steps over bound",
            "processes min..max",
            "wall s",
        ],
        rows=[
            [
                steps,
                len(hang_steps),
                timeouts,
                base,
                p99,
                worst,
                bound,
                over,
                f"{min(procs)}..{max(procs)}",
                wall,
            ]
        ],
        notes=[
            f"deadline {HANG_DEADLINE} s; bound = normal median + deadline x ceil(hangs / workers) + 0.5 s "
            "(the headline 'bound s' is for one wave of hangs)",
            f"{prompts} prompts x G={g} samples per step in {chunks} chunks; stand-ins: generation {gen_s} s per "
            f"chunk, log-probs {logprob_s} s, backward {backward_s} s; real math + format + language + bench_hang",
            "process count = live descendants of the benchmark process (workers + fork server), sampled every "
            "100 steps",
        ],
        figures=figures,
    )
