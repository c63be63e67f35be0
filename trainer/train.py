"""GRPO training loop: set-up, optional cold-start SFT, held-out evaluation, GRPO steps, checkpoints.

Run it as ``python -m trainer --config configs/demo.toml [section.key=value ...]`` (or ``r1-train``);
``--resume RUN_DIR`` continues a run from its last checkpoint with the same data order.

Where this departs from the papers:
- DeepSeek-R1 uses G=16, beta=0.001 and a large model; the demo uses a tiny model on a synthetic task.
- Rewards are streamed: each generation chunk is scored in the worker pool while the next one
  generates (see `trainer.rollout`); rewards that return None get advantage 0 (not a silent 0.0).
- One optimizer step per `num_iterations` pass over the batch (no mini-batch shuffling).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer import checkpoint as ckpt
from trainer.advantages import group_advantages
from trainer.config import TrainConfig, to_toml
from trainer.data import PromptStream, load_prompts, render_prompt
from trainer.logprobs import completion_logprobs
from trainer.loss import grpo_loss
from trainer.metrics import MetricsLogger
from trainer.model import (
    autocast,
    build_model,
    build_tokenizer,
    load_model,
    load_tokenizer,
    make_reference,
    prepare_model,
    reference_context,
    resolve_device,
    unwrap,
)
from trainer.rollout import Chunk, build_samples, collect_rollout, generate_chunk, reward_cpu_seconds
from trainer.sft import sft_target, train_sft
from verifiers import Composition, Reason, WorkerPool

__all__ = ["evaluate", "train"]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# helpers


def _seed_all(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(
            True, warn_only=True
        )  # CUDA ops without a deterministic kernel warn


def _run_dir(cfg: TrainConfig, config_path: str | None) -> Path:
    name = (
        cfg.run.name or f"{Path(config_path).stem if config_path else 'run'}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    path = Path(cfg.run.output_dir) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tokenizer_and_model(
    cfg: TrainConfig, run_dir: Path, train_records: Sequence[Mapping[str, Any]], device: torch.device
) -> tuple[Any, torch.nn.Module]:
    m = cfg.model
    saved = run_dir / "tokenizer"
    if m.path:
        tok = load_tokenizer(m.path)
    elif m.tokenizer_path:
        tok = load_tokenizer(m.tokenizer_path)
    elif (saved / "tokenizer.json").is_file():
        tok = load_tokenizer(saved)  # a resumed run reuses its own tokenizer
    else:
        corpus = [
            render_prompt(r, cfg.data.template if cfg.data.template != "chat" else "plain")
            for r in train_records[:2000]
        ]
        with contextlib.suppress(Exception):
            corpus += [sft_target(r) for r in train_records[:2000]]
        tok = build_tokenizer(corpus, vocab_size=m.vocab_size)
        tok.save_pretrained(str(saved))
    torch.manual_seed(cfg.run.seed)
    model = load_model(m.path) if m.path else build_model(m, tok)
    return tok, prepare_model(model, m, device)


def evaluate(
    model: Any,
    tokenizer: Any,
    records: Sequence[Mapping[str, Any]],
    cfg: TrainConfig,
    composition: Composition,
    device: torch.device,
    amp: Any,
) -> dict[str, Any]:
    """Held-out accuracy, scored by the composition.

    Greedy decoding always (``greedy_accuracy``); with eval.samples > 1 also `samples` completions per
    prompt at rollout.temperature (``sampled_accuracy``, the quantity GRPO optimises). ``accuracy`` is
    the sampled one when sampling is on, else the greedy one. Accuracy is the mean of the `eval.reward`
    term; a None counts as not correct and is counted under ``<term>_none``.
    """
    records = list(records[: cfg.eval.num_prompts])
    if not records:
        return {}
    out = {
        f"greedy_{k}": v
        for k, v in _eval_pass(model, tokenizer, records, cfg, composition, device, amp, 1).items()
    }
    out["accuracy"] = out["greedy_accuracy"]
    if cfg.eval.samples > 1:
        sampled = _eval_pass(model, tokenizer, records, cfg, composition, device, amp, cfg.eval.samples)
        out.update({f"sampled_{k}": v for k, v in sampled.items()})
        out["accuracy"] = out["sampled_accuracy"]
    return out


def _generate(
    model: Any,
    tokenizer: Any,
    records: Sequence[Mapping[str, Any]],
    cfg: TrainConfig,
    device: torch.device,
    amp: Any,
    group_size: int,
    *,
    do_sample: bool = True,
) -> Chunk:
    """`group_size` completions per record: prompts rendered with the run's template, sampled with its
    rollout settings (length, temperature, top-p, top-k)."""
    r = cfg.rollout
    prompts = [render_prompt(x, cfg.data.template, tokenizer) for x in records]
    return generate_chunk(
        model,
        tokenizer,
        prompts,
        group_size=group_size,
        max_new_tokens=r.max_new_tokens,
        temperature=r.temperature,
        top_p=r.top_p,
        top_k=r.top_k,
        do_sample=do_sample,
        device=device,
        autocast=amp,
    )


def _eval_pass(
    model: Any,
    tokenizer: Any,
    records: list[Mapping[str, Any]],
    cfg: TrainConfig,
    composition: Composition,
    device: torch.device,
    amp: Any,
    samples: int,
) -> dict[str, Any]:
    jobs = []
    for start in range(0, len(records), cfg.eval.batch_size):
        part = records[start : start + cfg.eval.batch_size]
        chunk = _generate(model, tokenizer, part, cfg, device, amp, samples, do_sample=samples > 1)
        jobs.append(composition.submit(build_samples(part, chunk, start, samples, "eval")))
    scored = [s for job in jobs for s in job.result()]
    out: dict[str, Any] = {"n": len(scored)}
    for key in composition.weights:
        vals = [s.rewards[key] for s in scored]
        out[key] = statistics.fmean(v if v is not None else 0.0 for v in vals)
        out[f"{key}_none"] = sum(v is None for v in vals)
    out["accuracy"] = out[cfg.eval.reward]
    totals = [s.reward for s in scored if s.reward is not None]
    out["reward"] = statistics.fmean(totals) if totals else None
    return out


def _step_metrics(
    rollout: Any, adv: torch.Tensor, zero_std: torch.Tensor, composition: Composition, accuracy_key: str
) -> dict[str, Any]:
    m: dict[str, Any] = {}
    valid = rollout.rewards[~torch.isnan(rollout.rewards)]
    m["reward/mean"] = float(valid.mean()) if valid.numel() else None
    m["reward/std"] = float(valid.std()) if valid.numel() > 1 else 0.0
    for key in composition.weights:
        vals = [s.rewards[key] for s in rollout.scored if s.rewards[key] is not None]
        m[f"rewards/{key}/mean"] = statistics.fmean(vals) if vals else None
        m[f"rewards/{key}/std"] = statistics.pstdev(vals) if len(vals) > 1 else 0.0
        m[f"rewards/{key}/none"] = sum(s.rewards[key] is None for s in rollout.scored)
    if accuracy_key in composition.weights:
        m["accuracy"] = statistics.fmean((s.rewards[accuracy_key] or 0.0) for s in rollout.scored)
    m["reward/none"] = int(torch.isnan(rollout.rewards).sum())
    m["reward/timeouts"] = sum(r == Reason.TIMEOUT for s in rollout.scored for r in s.reasons.values())
    m["reward/errors"] = sum(
        r in (Reason.ERROR, Reason.CRASH) for s in rollout.scored for r in s.reasons.values()
    )
    lengths = rollout.batch.completion_mask.sum(1).float()
    m["completion/length_mean"] = float(lengths.mean())
    m["completion/truncated_frac"] = float(rollout.batch.truncated.float().mean())
    m["frac_zero_std"] = float(zero_std.float().mean())
    m["adv/abs_mean"] = float(adv.abs().mean())
    return m


def _warm_up(rewards: Sequence[Any]) -> None:
    """Pool initializer: score a dummy sample with each heavy reward so lazy imports happen before the
    first real task's deadline starts. Module-level, so it pickles."""
    from verifiers import Sample

    sample = Sample(
        completion="<think>one plus one is two.</think><answer>2</answer>",
        prompt="What is 1 + 1?",
        answer="2",
        language="en",
    )
    for reward in rewards:
        with contextlib.suppress(Exception):
            reward.score(sample)


def _start_pool(cfg: TrainConfig) -> WorkerPool:
    """The reward pool, with the heavy rewards' modules preloaded in the forkserver and warmed in each worker."""
    import functools
    import multiprocessing as mp
    from multiprocessing import forkserver

    from verifiers import REGISTRY

    heavy = []
    for entry in cfg.reward:
        spec = REGISTRY.get(str(entry.get("name")))
        if spec.cls.heavy:
            heavy.append(REGISTRY.create(spec.name, **dict(entry.get("params") or {})))
    if cfg.pool.start_method == "forkserver":
        # Start the fork server ourselves with the reward modules imported, so every worker (and
        # every replacement of a killed one) forks with them already loaded.
        mp.get_context("forkserver").set_forkserver_preload(
            ["verifiers"] + sorted({type(r).__module__ for r in heavy})
        )
        forkserver.ensure_running()
    return WorkerPool(
        cfg.pool.workers or None,
        memory_limit_mb=cfg.pool.memory_limit_mb,
        start_method=cfg.pool.start_method,
        initializer=functools.partial(_warm_up, heavy),
    )


# ----------------------------------------------------------------------------------------------
# the run


def train(
    cfg: TrainConfig, *, config_path: str | None = None, resume: str | Path | None = None
) -> dict[str, Any]:
    """Run SFT (optional) and GRPO as configured; returns the summary written to summary.json."""
    t_start = time.perf_counter()
    run_dir = Path(resume) if resume else _run_dir(cfg, config_path)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
    _log(f"run directory: {run_dir}")
    _log(to_toml(cfg))
    if cfg.run.threads:
        torch.set_num_threads(cfg.run.threads)
    _seed_all(cfg.run.seed, cfg.run.deterministic)

    # The reward pool starts before anything touches CUDA (forking a CUDA process is unsupported;
    # forkserver is safe either way).
    pool = _start_pool(cfg)
    try:
        return _train(cfg, run_dir, pool, resume is not None, t_start)
    finally:
        pool.shutdown()


def _train(
    cfg: TrainConfig, run_dir: Path, pool: WorkerPool, resuming: bool, t_start: float
) -> dict[str, Any]:
    composition = Composition.from_config(cfg.reward, pool=pool)
    device, dtype = resolve_device(cfg.run)
    amp = autocast(device, dtype)
    train_records, eval_records = load_prompts(cfg.data, cfg.run.seed)
    tokenizer, model = _tokenizer_and_model(cfg, run_dir, train_records, device)
    g = cfg.grpo
    stream = PromptStream(train_records, seed=cfg.run.seed)
    last = ckpt.latest_checkpoint(run_dir) if resuming else None
    state: dict[str, Any] = {}
    summary: dict[str, Any] = {"run_dir": str(run_dir), "device": str(device), "dtype": str(dtype)}

    # ---- cold-start SFT and the post-SFT evaluation (skipped when resuming past them) ----------
    if last is None:
        if cfg.sft.steps:
            t0 = time.perf_counter()
            prompts = [render_prompt(r, cfg.data.template, tokenizer) for r in train_records]
            losses = train_sft(
                model,
                tokenizer,
                prompts,
                [
                    sft_target(r, drop_carry_rate=cfg.sft.drop_carry_rate, seed=cfg.run.seed)
                    for r in train_records
                ],
                cfg.sft,
                device=device,
                autocast=amp,
                seed=cfg.run.seed,
                chunk=g.logprob_chunk,
            )
            _log(
                f"sft: {cfg.sft.steps} steps in {time.perf_counter() - t0:.1f} s, loss {losses[0]:.3f} -> "
                f"{losses[-1]:.3f}"
            )
            state["sft_loss"] = losses[-1]
        before = evaluate(model, tokenizer, eval_records, cfg, composition, device, amp)
        state["eval_before"] = before
        if before:
            _log(
                f"held-out {cfg.eval.reward} accuracy after SFT: greedy {before['greedy_accuracy']:.3f}"
                + (f", sampled {before['sampled_accuracy']:.3f}" if "sampled_accuracy" in before else "")
            )
        if g.beta > 0 and cfg.model.lora_rank == 0:
            torch.save(model.state_dict(), run_dir / "reference.tmp")
            os.replace(run_dir / "reference.tmp", run_dir / "reference.pt")

    ref = make_reference(model, cfg.model, g.beta)
    if g.freeze_embeddings:
        hf: Any = unwrap(model)
        hf.get_input_embeddings().weight.requires_grad_(False)
        hf.get_output_embeddings().weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=g.lr, weight_decay=g.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (g.warmup_steps + 1))
    )
    start = 0
    if last is not None:
        state = ckpt.load_checkpoint(last, model=model, optimizer=optimizer, scheduler=scheduler)
        stream.load_state(state["data"])
        start = int(state["step"])
        if ref is not None and ref is not model:
            ref.load_state_dict(torch.load(run_dir / "reference.pt", weights_only=True))
        _log(f"resumed from {last} (step {start}, data position {stream.position})")
    else:
        ckpt.save_checkpoint(
            run_dir,
            0,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            state={**state, "data": stream.state()},
            keep=cfg.run.keep_checkpoints,
        )
    summary["eval_before"] = state.get("eval_before", {})

    logger = MetricsLogger(
        run_dir,
        total_steps=g.steps,
        start_step=start,
        plot_every=cfg.run.plot_every,
        tensorboard=cfg.run.tensorboard,
        progress=cfg.run.progress,
    )
    r = cfg.rollout
    G = r.group_size

    def generate(records: Sequence[Mapping[str, Any]]) -> Chunk:
        return _generate(model, tokenizer, records, cfg, device, amp, G)

    def after_generation(batch: Chunk) -> dict[str, Any]:
        """Old and reference log-probs: they do not need rewards, so they overlap the last chunk's scoring."""
        out: dict[str, Any] = {}
        args = (batch.prompt_ids, batch.prompt_mask, batch.completion_ids, batch.completion_mask)
        with torch.no_grad(), amp:
            if g.num_iterations > 1:
                out["old_logp"] = _batched_logprobs(
                    model, args, g.micro_batch_size, g.logprob_chunk, r.temperature
                )
            if ref is not None:
                with reference_context(ref, model) as ref_model:
                    out["ref_logp"] = _batched_logprobs(
                        ref_model, args, g.micro_batch_size, g.logprob_chunk, r.temperature
                    )
        return out

    # ---- GRPO ----------------------------------------------------------------------------------
    pool_stats = pool.stats
    model.train()
    for step in range(start + 1, g.steps + 1):
        t_step = time.perf_counter()
        reward_cpu_seconds(composition)  # reset the counter (eval scoring is not this step's)
        records = stream.take(r.prompts_per_step)
        rollout = collect_rollout(
            records,
            generate=generate,
            composition=composition,
            group_size=G,
            chunks=r.chunks,
            pad_id=tokenizer.pad_token_id,
            after_generation=after_generation,
            tag=f"s{step}",
        )
        adv, zero_std = group_advantages(rollout.rewards, G, scale=g.scale_rewards)
        metrics = _step_metrics(rollout, adv, zero_std, composition, cfg.eval.reward)
        t_back = time.perf_counter()
        metrics.update(_update(model, optimizer, scheduler, rollout, adv, zero_std, cfg, amp))
        metrics["time/backward"] = time.perf_counter() - t_back
        tm = rollout.timings
        metrics.update(
            {
                "time/generation": tm["generation"],
                "time/reward_cpu": reward_cpu_seconds(composition),
                "time/reward_exposed": tm["reward_exposed"],
                "time/reward_inline": tm["reward_inline"],
                "time/reward_wait": tm["reward_wait"],
                "time/logprobs": tm["after_generation"],
            }
        )
        if cfg.eval.every and step % cfg.eval.every == 0 and step != g.steps:
            metrics.update(
                {
                    f"eval/{k}": v
                    for k, v in evaluate(
                        model, tokenizer, eval_records, cfg, composition, device, amp
                    ).items()
                }
            )
        metrics.update({f"pool/{k}": v for k, v in vars(pool_stats).items()})
        metrics["time/step"] = time.perf_counter() - t_step
        metrics["time/step_exposed_frac"] = metrics["time/reward_exposed"] / metrics["time/step"]
        logger.log(step, metrics)
        _write_samples(run_dir, step, rollout, G)
        if step == g.steps or (cfg.run.save_every and step % cfg.run.save_every == 0):
            ckpt.save_checkpoint(
                run_dir,
                step,
                model=model,
                optimizer=optimizer,
                scheduler=scheduler,
                state={"eval_before": summary["eval_before"], "data": stream.state()},
                keep=cfg.run.keep_checkpoints,
            )
    logger.close()

    # ---- final evaluation and summary ------------------------------------------------------------
    after = evaluate(model, tokenizer, eval_records, cfg, composition, device, amp)
    summary["eval_after"] = after
    summary["steps"] = g.steps
    summary["wall_s"] = time.perf_counter() - t_start
    rows = logger.rows
    if rows:
        summary["mean_step_s"] = statistics.fmean(x["time/step"] for x in rows if "time/step" in x)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if after and summary["eval_before"]:
        before = summary["eval_before"]
        for kind in ("greedy", "sampled"):
            if f"{kind}_accuracy" in after and f"{kind}_accuracy" in before:
                _log(
                    f"held-out {cfg.eval.reward} accuracy ({kind}): {before[f'{kind}_accuracy']:.3f} after SFT -> "
                    f"{after[f'{kind}_accuracy']:.3f} after {g.steps} GRPO steps"
                )
    _log(
        f"done in {summary['wall_s']:.0f} s; run directory: {run_dir} (metrics.jsonl, metrics.png, summary.json)"
    )
    return summary


def _write_samples(run_dir: Path, step: int, rollout: Any, group_size: int) -> None:
    """Append the first group of the step (completions, rewards, reasons) to samples.jsonl."""
    rows = []
    for i in range(
        len(rollout.scored)
        if os.environ.get("R1_TRAIN_ALL_SAMPLES")
        else min(group_size, len(rollout.scored))
    ):
        s = rollout.scored[i]
        rows.append(
            {
                "step": step,
                "prompt": rollout.records[i].get("prompt"),
                "answer": rollout.records[i].get("answer"),
                "completion": rollout.batch.texts[i],
                "reward": s.reward,
                "rewards": s.rewards,
                "reasons": s.reasons,
            }
        )
    with open(run_dir / "samples.jsonl", "a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r, default=str) + "\n" for r in rows))


def _batched_logprobs(
    model: Any, args: tuple[torch.Tensor, ...], micro: int, chunk: int, temperature: float
) -> torch.Tensor:
    outs = []
    for s in range(0, args[0].shape[0], micro):
        lp, _ = completion_logprobs(
            model, *(a[s : s + micro] for a in args), chunk=chunk, temperature=temperature
        )
        outs.append(lp)
    return torch.cat(outs)


def _update(
    model: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    rollout: Any,
    adv: torch.Tensor,
    zero_std: torch.Tensor,
    cfg: TrainConfig,
    amp: Any,
) -> dict[str, Any]:
    """`num_iterations` optimizer steps on the rollout batch; returns loss diagnostics."""
    g, G = cfg.grpo, cfg.rollout.group_size
    b = rollout.batch
    device = next(model.parameters()).device
    mask = b.completion_mask.float()  # [B, C]
    if g.mask_truncated:
        mask = mask * (~b.truncated).float()[:, None]
    rows = torch.arange(adv.numel())
    if g.drop_zero_std:
        rows = rows[~zero_std.repeat_interleave(G)]
    rows = rows[mask[rows].sum(1) > 0]
    out: dict[str, Any] = {
        "loss": 0.0,
        "kl": 0.0,
        "clip_frac": 0.0,
        "clip_low_frac": 0.0,
        "clip_high_frac": 0.0,
        "entropy": None,
        "grad_norm": 0.0,
        "lr": scheduler.get_last_lr()[0],
        "trained_sequences": int(rows.numel()),
    }
    if rows.numel() == 0:
        return out
    n_seq, n_tok = int(rows.numel()), float(mask[rows].sum())
    old_all, ref_all = rollout.extras.get("old_logp"), rollout.extras.get("ref_logp")
    stats_acc: dict[str, float] = {"kl": 0.0, "clip_frac": 0.0, "clip_low_frac": 0.0, "clip_high_frac": 0.0}
    ent_sum = ent_n = 0.0
    for it in range(g.num_iterations):
        optimizer.zero_grad(set_to_none=True)
        loss_total = 0.0
        for s in range(0, n_seq, g.micro_batch_size):
            idx = rows[s : s + g.micro_batch_size]
            m = mask[idx].to(device)
            with amp:
                logp, ent = completion_logprobs(
                    model,
                    b.prompt_ids[idx],
                    b.prompt_mask[idx],
                    b.completion_ids[idx],
                    b.completion_mask[idx],
                    chunk=g.logprob_chunk,
                    temperature=cfg.rollout.temperature,
                )
            old = old_all[idx] if old_all is not None else logp.detach()
            loss, st = grpo_loss(
                logp,
                old,
                ref_all[idx] if ref_all is not None else None,
                adv[idx].to(device),
                m,
                loss_type=g.loss_type,
                beta=g.beta,
                epsilon=g.epsilon,
                epsilon_high=g.epsilon_high or None,
                max_tokens=cfg.rollout.max_new_tokens,
                num_sequences=n_seq,
                num_tokens=n_tok,
            )
            if g.loss_type == "bnpo":
                loss = loss * (idx.numel() / n_seq)
            loss.backward()  # type: ignore[no-untyped-call]
            loss_total += float(loss.detach())
            w = float(m.sum()) / n_tok / g.num_iterations
            for k in stats_acc:
                stats_acc[k] += getattr(st, k) * w
            if it == 0:
                ent_sum += float((ent * m).sum())
                ent_n += float(m.sum())
        norm = torch.nn.utils.clip_grad_norm_(
            model.parameters(), g.max_grad_norm if g.max_grad_norm > 0 else math.inf
        )
        optimizer.step()
        scheduler.step()
        out["loss"] += loss_total / g.num_iterations
        out["grad_norm"] = float(norm)
    out.update(stats_acc)
    out["entropy"] = ent_sum / max(ent_n, 1.0)
    return out
