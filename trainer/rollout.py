"""Rollout: G completions per prompt, generated in chunks of whole groups and scored while the next
chunk generates.

Timeline of one step with K chunks (rewards leave the critical path)::

    generate chunk 1 | generate chunk 2 | ... | generate chunk K | old/ref log-probs | wait
          submit 1 ->   pool scores 1      ...        submit K ->   pool scores K      ^ exposed

`Composition.submit` scores cheap (non-heavy) rewards inline and sends heavy ones to the worker pool;
it runs on a helper thread, so even the cheap ones overlap the next chunk's generation. Exposed
reward time = building the samples + waiting for scores after the log-probs are done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import torch

from verifiers import Composition, Sample, ScoredSample, ScoreJob

__all__ = [
    "Chunk",
    "Rollout",
    "build_samples",
    "collect_rollout",
    "generate_chunk",
    "merge_chunks",
    "reward_cpu_seconds",
]


@dataclass
class Chunk:
    """Completions of some whole groups.

    Attributes:
        prompt_ids: ``[n, P]`` left-padded prompt ids (one row per completion); prompt_mask the same shape.
        completion_ids: ``[n, C]`` right-padded; completion_mask ``[n, C]`` 1 up to and including EOS.
        truncated: ``[n]`` True where the completion hit the length limit without EOS.
        texts: decoded completions (special tokens dropped).
    """

    prompt_ids: torch.Tensor
    prompt_mask: torch.Tensor
    completion_ids: torch.Tensor
    completion_mask: torch.Tensor
    truncated: torch.Tensor
    texts: list[str]


@dataclass
class Rollout:
    """One step's batch: the merged chunks, their scores, and (optionally) log-probs."""

    batch: Chunk
    records: list[Mapping[str, Any]]
    """The prompt record of each completion (G consecutive rows share one)."""
    scored: list[ScoredSample]
    rewards: torch.Tensor
    """``[B]`` total reward per completion, NaN where it is None (cannot judge)."""
    extras: dict[str, Any] = field(default_factory=dict)
    """What `after_generation` returned (old/ref log-probs)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds: generation, reward_inline, reward_wait, reward_exposed, after_generation."""


def generate_chunk(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    group_size: int,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    do_sample: bool = True,
    device: torch.device | None = None,
    autocast: Any = None,
) -> Chunk:
    """G completions for each prompt with HF ``generate`` (rows: prompt 0's G samples, then prompt 1's...)."""
    import contextlib

    enc = tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False)
    dev = device or next(model.parameters()).device
    ids, mask = enc["input_ids"].to(dev), enc["attention_mask"].to(dev)
    eos = tokenizer.eos_token_id
    sampling: dict[str, Any] = (
        {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": top_k or None}
        if do_sample
        else {"do_sample": False}
    )
    was_training = model.training
    model.eval()
    with torch.no_grad(), autocast or contextlib.nullcontext():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=max_new_tokens,
            num_return_sequences=group_size,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=eos,
            use_cache=True,
            **sampling,
        )
    model.train(was_training)
    p = ids.shape[1]
    completion = out[:, p:]  # [n, C]
    is_eos = completion == eos  # [n, C]
    has_eos = is_eos.any(1)  # [n]
    first = torch.where(
        has_eos, is_eos.int().argmax(1), torch.full_like(has_eos, completion.shape[1], dtype=torch.long)
    )
    pos = torch.arange(completion.shape[1], device=completion.device)[None]  # [1, C]
    cmask = (pos <= first[:, None]).long()  # up to and including EOS
    cmask = torch.where(has_eos[:, None], cmask, (pos < first[:, None]).long())
    completion = torch.where(cmask.bool(), completion, torch.full_like(completion, tokenizer.pad_token_id))
    texts = tokenizer.batch_decode(
        [row[: int(n)].tolist() for row, n in zip(completion, first)], skip_special_tokens=True
    )
    return Chunk(
        ids.repeat_interleave(group_size, 0),
        mask.repeat_interleave(group_size, 0),
        completion,
        cmask,
        ~has_eos,
        texts,
    )


def merge_chunks(chunks: Sequence[Chunk], pad_id: int) -> Chunk:
    """Concatenate chunks, left-padding prompts and right-padding completions to common widths."""
    p = max(c.prompt_ids.shape[1] for c in chunks)
    c_len = max(c.completion_ids.shape[1] for c in chunks)

    def left(x: torch.Tensor, width: int, value: int) -> torch.Tensor:
        return torch.nn.functional.pad(x, (width - x.shape[1], 0), value=value)

    def right(x: torch.Tensor, width: int, value: int) -> torch.Tensor:
        return torch.nn.functional.pad(x, (0, width - x.shape[1]), value=value)

    return Chunk(
        torch.cat([left(c.prompt_ids, p, pad_id) for c in chunks]),
        torch.cat([left(c.prompt_mask, p, 0) for c in chunks]),
        torch.cat([right(c.completion_ids, c_len, pad_id) for c in chunks]),
        torch.cat([right(c.completion_mask, c_len, 0) for c in chunks]),
        torch.cat([c.truncated for c in chunks]),
        [t for c in chunks for t in c.texts],
    )


def build_samples(
    records: Sequence[Mapping[str, Any]], chunk: Chunk, first_group: int, group_size: int, tag: str
) -> list[Sample]:
    """`Sample`s of a chunk: each completion with its record's fields and a group key ``<tag>-<index>``."""
    out = []
    for j, text in enumerate(chunk.texts):
        record = records[j // group_size]
        ids = chunk.completion_ids[j][chunk.completion_mask[j].bool()].tolist()
        fields = {k: v for k, v in record.items() if k not in ("completion", "completion_ids", "group")}
        out.append(
            Sample.from_record(
                {
                    **fields,
                    "completion": text,
                    "completion_ids": ids,
                    "group": f"{tag}-{first_group + j // group_size}",
                }
            )
        )
    return out


def collect_rollout(
    records: Sequence[Mapping[str, Any]],
    *,
    generate: Callable[[Sequence[Mapping[str, Any]]], Chunk],
    composition: Composition,
    group_size: int,
    chunks: int,
    pad_id: int,
    after_generation: Callable[[Chunk], dict[str, Any]] | None = None,
    tag: str = "g",
) -> Rollout:
    """Generate, score and (optionally) compute log-probs for one step.

    Args:
        records: the step's prompt records (one per group).
        generate: makes one `Chunk` of G completions per record it is given.
        composition: the reward composition; each chunk is submitted as soon as it is generated.
        group_size: G.
        chunks: how many generation chunks (of whole groups).
        pad_id: padding id for merging chunks.
        after_generation: run on the merged batch while the last chunk is scored (old/ref log-probs).
        tag: prefix of the group keys given to group-scope rewards.

    Returns:
        The `Rollout`, with timings: generation, reward_inline (cheap rewards scored at submit, on the
        helper thread), after_generation, reward_wait (blocked on scores after everything else) and
        reward_exposed = sample building + reward_wait (what the critical path paid).
    """
    n = len(records)
    bounds = [round(i * n / chunks) for i in range(chunks + 1)]
    made: list[Chunk] = []
    jobs: list[Future[tuple[ScoreJob, float]]] = []
    t_gen = t_build = 0.0
    # Submitting runs the cheap rewards inline and hands heavy ones to the pool; doing it on a helper
    # thread keeps even the cheap ones off the critical path (they overlap the next chunk's generation).
    with ThreadPoolExecutor(1, thread_name_prefix="reward-submit") as submitter:
        for a, b in zip(bounds, bounds[1:]):
            if a == b:
                continue
            t0 = time.perf_counter()
            chunk = generate(records[a:b])
            t1 = time.perf_counter()
            samples = build_samples(records[a:b], chunk, a, group_size, tag)
            jobs.append(submitter.submit(_timed_submit, composition, samples))
            t_gen += t1 - t0
            t_build += time.perf_counter() - t1
            made.append(chunk)
        batch = merge_chunks(made, pad_id)
        t0 = time.perf_counter()
        extras = after_generation(batch) if after_generation is not None else {}
        t1 = time.perf_counter()
        done = [f.result() for f in jobs]
        scored = [s for job, _ in done for s in job.result()]
        t_wait = time.perf_counter() - t1
    rewards = torch.tensor(
        [float("nan") if s.reward is None else s.reward for s in scored], dtype=torch.float32
    )
    timings = {
        "generation": t_gen,
        "reward_inline": sum(dt for _, dt in done),
        "after_generation": t1 - t0,
        "reward_wait": t_wait,
        "reward_exposed": t_build + t_wait,
    }
    expanded = [r for r in records for _ in range(group_size)]
    return Rollout(batch, expanded, scored, rewards, extras, timings)


def _timed_submit(composition: Composition, samples: list[Sample]) -> tuple[ScoreJob, float]:
    t0 = time.perf_counter()
    job = composition.submit(samples)
    return job, time.perf_counter() - t0


def reward_cpu_seconds(composition: Composition) -> float:
    """Reward CPU seconds recorded since the last call (summed per-sample latencies over terms), and reset."""
    return sum(float(m["latency_total_s"] or 0.0) for m in composition.metrics(reset=True).values())
