"""The GRPO objective: clipped per-token ratio, k3 KL to the reference, and loss aggregation.

Per token t of completion i (DeepSeekMath, arXiv 2402.03300, eq. 3; minimised, hence the sign)::

    rho   = exp(logp - old_logp)
    l_it  = -min(rho * A_i, clip(rho, 1 - eps, 1 + eps_high) * A_i) + beta * KL_it
    KL_it = exp(ref_logp - logp) - (ref_logp - logp) - 1            (k3: unbiased, >= 0)

Aggregation over tokens (``mask`` selects the tokens that count):

    grpo     mean over sequences of each sequence's token mean     (the paper; length-biased)
    bnpo     token mean over this (micro-)batch
    dr_grpo  token sum / (n_sequences * max_tokens)                 (Dr. GRPO: a constant normaliser)
    dapo     token sum / n_tokens of the whole rollout batch         (DAPO token-level loss)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["LossStats", "aggregate", "clipped_policy_loss", "grpo_loss", "kl_k3"]

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo")


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """k3 estimate of KL(pi_theta || pi_ref) per token: ``exp(d) - d - 1`` with ``d = ref_logp - logp``.

    Args:
        logp: ``[B, T]`` log-probs under the policy.
        ref_logp: ``[B, T]`` log-probs under the reference.

    Returns:
        ``[B, T]``, >= 0, zero where the two agree.

    >>> kl_k3(torch.tensor([[0.0]]), torch.tensor([[0.0]])).item()
    0.0
    """
    d = ref_logp - logp
    return torch.exp(d) - d - 1


def clipped_policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    *,
    epsilon: float = 0.2,
    epsilon_high: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token clipped surrogate, negated for minimisation.

    Args:
        logp: ``[B, T]`` current log-probs (with gradient).
        old_logp: ``[B, T]`` log-probs of the policy that sampled (no gradient).
        advantages: ``[B]`` one advantage per sequence, broadcast over its tokens.
        epsilon: lower clip range; epsilon_high: upper clip range (DAPO clip-higher), default `epsilon`.

    Returns:
        ``(loss [B, T], clipped [B, T] bool)``; `clipped` marks tokens where the clipped term was chosen
        and differs from the unclipped one (no gradient flows through them).

    >>> loss, clipped = clipped_policy_loss(torch.tensor([[0.0]]), torch.tensor([[0.0]]), torch.tensor([2.0]))
    >>> loss.item(), clipped.item()
    (-2.0, False)
    """
    high = epsilon if epsilon_high is None else epsilon_high
    ratio = torch.exp(logp - old_logp)  # [B, T]
    adv = advantages[:, None]  # [B, 1]
    unclipped = ratio * adv  # [B, T]
    clipped_term = torch.clamp(ratio, 1 - epsilon, 1 + high) * adv  # [B, T]
    objective = torch.minimum(unclipped, clipped_term)  # [B, T]
    return -objective, clipped_term < unclipped


def aggregate(
    per_token: torch.Tensor,
    mask: torch.Tensor,
    loss_type: str,
    *,
    max_tokens: int | None = None,
    num_sequences: int | None = None,
    num_tokens: float | None = None,
) -> torch.Tensor:
    """Reduce a per-token loss to a scalar.

    Args:
        per_token: ``[B, T]`` loss per token.
        mask: ``[B, T]`` 1 for tokens that count.
        loss_type: "grpo", "bnpo", "dr_grpo" or "dapo" (see the module docstring).
        max_tokens: dr_grpo's constant (the generation limit); default T.
        num_sequences: sequences in the whole rollout batch (grpo, dr_grpo), for micro-batching; default B.
        num_tokens: masked tokens in the whole rollout batch (dapo); default this batch's.

    Returns:
        A scalar tensor. Summing the results over the micro-batches of a rollout batch gives the
        full-batch loss for grpo, dr_grpo and dapo (bnpo is per micro-batch by definition).

    >>> x = torch.tensor([[1.0, 3.0], [2.0, 0.0]]); m = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    >>> [round(aggregate(x, m, t).item(), 4) for t in ("grpo", "bnpo", "dr_grpo", "dapo")]
    [2.0, 2.0, 1.5, 2.0]
    """
    mask = mask.to(per_token.dtype)
    total = per_token * mask  # [B, T]
    b = per_token.shape[0] if num_sequences is None else num_sequences
    if loss_type == "grpo":
        return (total.sum(1) / mask.sum(1).clamp(min=1)).sum() / max(b, 1)
    if loss_type == "bnpo":
        return total.sum() / mask.sum().clamp(min=1)
    if loss_type == "dr_grpo":
        t = per_token.shape[1] if max_tokens is None else max_tokens
        return total.sum() / (max(b, 1) * t)
    if loss_type == "dapo":
        n = mask.sum().clamp(min=1) if num_tokens is None else max(num_tokens, 1.0)
        return total.sum() / n
    raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")


@dataclass
class LossStats:
    """Token-mean diagnostics of one loss call (floats, no gradient)."""

    kl: float
    clip_frac: float
    clip_low_frac: float
    clip_high_frac: float


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    loss_type: str = "grpo",
    beta: float = 0.0,
    epsilon: float = 0.2,
    epsilon_high: float | None = None,
    max_tokens: int | None = None,
    num_sequences: int | None = None,
    num_tokens: float | None = None,
) -> tuple[torch.Tensor, LossStats]:
    """The GRPO loss of one (micro-)batch.

    Args:
        logp, old_logp: ``[B, T]`` current and sampling-policy log-probs.
        ref_logp: ``[B, T]`` reference log-probs, or None when ``beta == 0``.
        advantages: ``[B]``.
        mask: ``[B, T]`` tokens that count.
        loss_type, max_tokens, num_sequences, num_tokens: see `aggregate`.
        beta, epsilon, epsilon_high: KL weight and clip ranges.

    Returns:
        ``(loss, stats)``: a scalar with gradient, and token-mean KL and clip fractions.
    """
    per_token, clipped = clipped_policy_loss(
        logp, old_logp, advantages, epsilon=epsilon, epsilon_high=epsilon_high
    )
    kl = torch.zeros_like(logp)
    if beta > 0:
        if ref_logp is None:
            raise ValueError("beta > 0 needs ref_logp")
        kl = kl_k3(logp, ref_logp)
        per_token = per_token + beta * kl
    loss = aggregate(
        per_token, mask, loss_type, max_tokens=max_tokens, num_sequences=num_sequences, num_tokens=num_tokens
    )
    with torch.no_grad():
        m = mask.bool()
        n = max(int(m.sum()), 1)
        ratio = torch.exp(logp - old_logp)
        high = epsilon if epsilon_high is None else epsilon_high
        adv = advantages[:, None].expand_as(ratio)
        low_hit = (ratio < 1 - epsilon) & (adv < 0) & m
        high_hit = (ratio > 1 + high) & (adv > 0) & m
        stats = LossStats(
            kl=float((kl * m).sum()) / n if ref_logp is not None else 0.0,
            clip_frac=float((clipped & m).sum()) / n,
            clip_low_frac=float(low_hit.sum()) / n,
            clip_high_frac=float(high_hit.sum()) / n,
        )
    return loss, stats
