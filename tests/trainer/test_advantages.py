"""Group-relative advantages: hand-computed values, a plain-loop reference, and invariants."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from trainer.advantages import group_advantages


def loop_advantages(rewards: list[float], g: int, scale: str, eps: float = 1e-4) -> list[float]:
    """Reference: one group at a time, NaN rewards left out, unbiased std."""
    out: list[float] = []
    valid_all = [r for r in rewards if not math.isnan(r)]
    bmean = sum(valid_all) / len(valid_all) if valid_all else 0.0
    bstd = (
        math.sqrt(sum((r - bmean) ** 2 for r in valid_all) / (len(valid_all) - 1))
        if len(valid_all) > 1
        else 0.0
    )
    for start in range(0, len(rewards), g):
        grp = rewards[start : start + g]
        valid = [r for r in grp if not math.isnan(r)]
        mean = sum(valid) / len(valid) if valid else 0.0
        std = math.sqrt(sum((r - mean) ** 2 for r in valid) / (len(valid) - 1)) if len(valid) > 1 else 0.0
        zero = len(valid) < 2 or std < 1e-6
        for r in grp:
            if math.isnan(r) or zero:
                out.append(0.0)
            elif scale == "group":
                out.append((r - mean) / (std + eps))
            elif scale == "batch":
                out.append((r - mean) / (bstd + eps))
            else:
                out.append(r - mean)
    return out


def test_hand_computed_group_of_four():
    # rewards 1,0,0,0: mean 0.25, unbiased std sqrt(0.25) = 0.5
    adv, zero = group_advantages(torch.tensor([1.0, 0.0, 0.0, 0.0]), 4, eps=0.0)
    assert adv.tolist() == pytest.approx([1.5, -0.5, -0.5, -0.5])
    assert zero.tolist() == [False]


def test_dr_grpo_does_not_divide_by_std():
    adv, _ = group_advantages(torch.tensor([1.0, 0.0, 0.0, 0.0]), 4, scale="none")
    assert adv.tolist() == pytest.approx([0.75, -0.25, -0.25, -0.25])


def test_none_reward_is_left_out_of_baseline_and_gets_zero():
    # the NaN (reward None) must not drag the mean: the baseline is mean(1, 0) = 0.5
    adv, zero = group_advantages(torch.tensor([1.0, 0.0, float("nan"), 1.0]), 4, eps=0.0)
    std = math.sqrt(((1 - 2 / 3) ** 2 * 2 + (2 / 3) ** 2) / 2)
    assert adv.tolist() == pytest.approx([(1 / 3) / std, (-2 / 3) / std, 0.0, (1 / 3) / std])
    assert not zero.item()


def test_all_none_group_is_zero_std_and_zero():
    adv, zero = group_advantages(torch.tensor([float("nan")] * 3 + [1.0, 2.0, 3.0]), 3)
    assert adv[:3].tolist() == [0.0, 0.0, 0.0]
    assert zero.tolist() == [True, False]


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_matches_plain_loop(scale):
    gen = torch.Generator().manual_seed(0)
    rewards = torch.randint(0, 3, (48,), generator=gen).float()
    rewards[torch.randperm(48, generator=gen)[:5]] = float("nan")
    adv, _ = group_advantages(rewards, 6, scale=scale)
    assert adv.tolist() == pytest.approx(loop_advantages(rewards.tolist(), 6, scale), abs=1e-5)


def test_rejects_ragged_batch():
    with pytest.raises(ValueError, match="group_size"):
        group_advantages(torch.zeros(7), 4)


finite = st.floats(-100, 100, allow_nan=False, width=32)
groups = st.integers(2, 8).flatmap(lambda g: st.tuples(st.just(g), st.lists(finite, min_size=g, max_size=g)))


@given(groups)
def test_group_advantages_sum_to_zero(case):
    g, rewards = case
    adv, _ = group_advantages(torch.tensor(rewards, dtype=torch.float64), g)
    assert abs(float(adv.sum())) < 1e-3 * max(1.0, float(adv.abs().max()))


@given(groups, st.floats(-50, 50, allow_nan=False))
def test_shifting_a_group_leaves_advantages_unchanged(case, shift):
    g, rewards = case
    a, _ = group_advantages(torch.tensor(rewards, dtype=torch.float64), g)
    b, _ = group_advantages(torch.tensor(rewards, dtype=torch.float64) + shift, g)
    assert torch.allclose(a, b, atol=1e-3)


@given(st.integers(2, 8), finite, st.sampled_from(["group", "batch", "none"]))
def test_all_equal_group_gives_zeros(g, value, scale):
    adv, zero = group_advantages(torch.full((g,), value), g, scale=scale)
    assert adv.tolist() == [0.0] * g
    assert zero.tolist() == [True]
