"""Group-relative advantages (GRPO): each completion's reward against its prompt group's baseline.

``A_i = (r_i - mean(r_group)) / std``, with std the group's (GRPO), the batch's, or none (Dr. GRPO,
arXiv 2503.20783, which argues the division biases towards easy and hard questions). A reward of
None (NaN here) is left out of its group's mean and std and gets advantage 0, so an outage never
looks like a wrong answer. std is the unbiased sample std (``torch.std``, as TRL).
"""

from __future__ import annotations

import torch

__all__ = ["group_advantages"]


def group_advantages(
    rewards: torch.Tensor, group_size: int, *, scale: str = "group", eps: float = 1e-4
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages of a batch of groups.

    Args:
        rewards: ``[B]`` total rewards, groups contiguous (``B = n_groups * group_size``); NaN = None.
        group_size: G.
        scale: "group" (divide by the group's std), "batch" (by the std of all valid rewards), "none".
        eps: added to the std.

    Returns:
        ``(advantages [B], zero_std [n_groups] bool)``: advantages are 0 for NaN rewards; a group is
        zero-std when fewer than two of its rewards are valid or all valid ones are equal (no signal).

    >>> adv, z = group_advantages(torch.tensor([1.0, 0.0, 1.0, 1.0]), 2)
    >>> [round(x, 3) for x in adv.tolist()], z.tolist()
    ([0.707, -0.707, 0.0, 0.0], [False, True])
    """
    if rewards.dim() != 1 or rewards.numel() % group_size:
        raise ValueError(
            f"rewards must be [n_groups * group_size] with group_size={group_size}, "
            f"got shape {tuple(rewards.shape)}"
        )
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    r = rewards.double().view(-1, group_size)  # [n, G]; float64 so an all-equal group centres to exactly 0
    valid = ~torch.isnan(r)  # [n, G]
    n_valid = valid.sum(1)  # [n]
    r0 = torch.where(valid, r, torch.zeros_like(r))  # [n, G]
    mean = r0.sum(1) / n_valid.clamp(min=1)  # [n]
    centred = torch.where(valid, r - mean[:, None], torch.zeros_like(r))  # [n, G]
    var = (centred**2).sum(1) / (n_valid - 1).clamp(min=1)  # [n]
    std = var.sqrt()  # [n]
    scale_ref = torch.where(valid, r.abs(), torch.zeros_like(r)).amax(1).clamp(min=1.0)  # [n]
    zero_std = (n_valid < 2) | (std <= 1e-9 * scale_ref)  # [n]
    if scale == "group":
        adv = centred / (std[:, None] + eps)
    elif scale == "batch":
        flat = r[valid]
        batch_std = flat.std() if flat.numel() > 1 else flat.new_tensor(0.0)
        adv = centred / (batch_std + eps)
    else:
        adv = centred
    adv = torch.where(zero_std[:, None], torch.zeros_like(adv), adv)
    return adv.reshape(-1).to(rewards.dtype if rewards.is_floating_point() else torch.float32), zero_std
