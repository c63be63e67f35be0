"""Cold-start SFT: a short supervised phase on R1-format reasoning traces before GRPO.

DeepSeek-R1 (unlike R1-Zero) fine-tunes on a few thousand long-CoT examples before RL, so that RL
starts from a model that already writes ``<think>...</think><answer>...</answer>``. Here the traces
come from the synthetic task (`trainer.tasks.trace`) or from a record's ``sft_completion`` field.
The loss is the token-mean negative log-likelihood of the completion (prompt tokens are not trained).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from trainer.config import SFTConfig
from trainer.logprobs import completion_logprobs
from trainer.tasks import trace
from verifiers.errors import ConfigError

__all__ = ["sft_target", "train_sft"]


def sft_target(record: Mapping[str, Any], *, drop_carry_rate: float = 0.0, seed: int = 0) -> str:
    """The completion to imitate: ``record["sft_completion"]``, or the synthetic task's trace.

    With `drop_carry_rate`, that fraction of synthetic records (chosen per record, from `seed`) gets the
    trace of a teacher who forgets to carry (`trainer.tasks.trace`).
    """
    if isinstance(record.get("sft_completion"), str):
        return str(record["sft_completion"])
    if {"a", "op", "b"} <= set(record):
        slip = drop_carry_rate > 0 and random.Random(f"{seed}-{record['prompt']}").random() < drop_carry_rate
        return trace(dict(record), drop_carry=slip)
    raise ConfigError(
        "sft.steps > 0 needs traces: give records an 'sft_completion' field or use a synthetic "
        "task; or set sft.steps = 0"
    )


def _encode(
    tokenizer: Any, texts: Sequence[str], *, left: bool, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    width = max(len(x) for x in ids)
    pad = tokenizer.pad_token_id
    rows = [([pad] * (width - len(x)) + x) if left else (x + [pad] * (width - len(x))) for x in ids]
    mask = [
        ([0] * (width - len(x)) + [1] * len(x)) if left else ([1] * len(x) + [0] * (width - len(x)))
        for x in ids
    ]
    return torch.tensor(rows, device=device), torch.tensor(mask, device=device)


def train_sft(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    targets: Sequence[str],
    cfg: SFTConfig,
    *,
    device: torch.device,
    autocast: Any,
    seed: int,
    chunk: int = 1024,
) -> list[float]:
    """Fine-tune `model` on (prompt, target) pairs for `cfg.steps` steps; returns the loss per step.

    Args:
        prompts: rendered prompt texts.
        targets: completions (EOS is appended).
        cfg: steps, batch size, learning rate (cosine decay to 10%).
        device, autocast: where and in which precision to run.
        seed: batch sampling seed.
    """
    import contextlib

    n = min(len(prompts), cfg.num_examples)
    targets = [t + tokenizer.eos_token for t in targets[:n]]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / max(cfg.steps, 1)))
    )
    gen = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(cfg.steps):
        idx = torch.randint(0, n, (cfg.batch_size,), generator=gen).tolist()
        p_ids, p_mask = _encode(tokenizer, [prompts[i] for i in idx], left=True, device=device)
        c_ids, c_mask = _encode(tokenizer, [targets[i] for i in idx], left=False, device=device)
        with autocast or contextlib.nullcontext():
            logp, _ = completion_logprobs(model, p_ids, p_mask, c_ids, c_mask, chunk=chunk)
        loss = -(logp * c_mask).sum() / c_mask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    return losses
