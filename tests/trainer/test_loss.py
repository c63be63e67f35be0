"""k3 KL, the clipped surrogate and every loss aggregation: hand-computed values and a plain loop."""

from __future__ import annotations

import math

import pytest
import torch

from trainer.loss import aggregate, clipped_policy_loss, grpo_loss, kl_k3


def test_kl_k3_hand_computed():
    # d = ref - logp = log(0.5) - log(0.25) = log 2: exp(d) - d - 1 = 2 - log 2 - 1
    out = kl_k3(torch.tensor([[math.log(0.25)]]), torch.tensor([[math.log(0.5)]]))
    assert out.item() == pytest.approx(1 - math.log(2))


def test_kl_k3_is_non_negative_and_zero_on_agreement():
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(50, 7, generator=gen), torch.randn(50, 7, generator=gen)
    assert (kl_k3(a, b) >= 0).all()
    assert kl_k3(a, a).abs().max() == 0


def test_clip_hand_computed():
    logp = torch.log(torch.tensor([[1.5, 0.5, 1.1]]))  # ratios against old = 0
    old = torch.zeros(1, 3)
    # positive advantage: ratio 1.5 clipped to 1.2, 0.5 stays (min), 1.1 stays
    loss, clipped = clipped_policy_loss(logp, old, torch.tensor([1.0]), epsilon=0.2)
    assert loss.tolist()[0] == pytest.approx([-1.2, -0.5, -1.1])
    assert clipped.tolist() == [[True, False, False]]
    # negative advantage: ratio 0.5 clipped to 0.8 -> -0.8 * -1 = 0.8 loss
    loss, clipped = clipped_policy_loss(logp, old, torch.tensor([-1.0]), epsilon=0.2)
    assert loss.tolist()[0] == pytest.approx([1.5, 0.8, 1.1])
    assert clipped.tolist() == [[False, True, False]]


def test_clip_higher_widens_only_the_upper_side():
    logp, old = torch.log(torch.tensor([[1.25, 0.7]])), torch.zeros(1, 2)
    loss, _ = clipped_policy_loss(logp, old, torch.tensor([1.0]), epsilon=0.2, epsilon_high=0.28)
    assert loss.tolist()[0] == pytest.approx([-1.25, -0.7])
    loss, _ = clipped_policy_loss(logp, old, torch.tensor([-1.0]), epsilon=0.2, epsilon_high=0.28)
    assert loss.tolist()[0] == pytest.approx([1.25, 0.8])


X = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 0.0, 0.0], [7.0, 0.0, 0.0, 0.0]])
M = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    "loss_type, expected",
    [
        ("grpo", (2.5 + 5.5 + 7.0) / 3),  # mean of per-sequence token means
        ("bnpo", 28.0 / 7),  # token mean over the batch
        ("dr_grpo", 28.0 / (3 * 4)),  # sum over B * max_tokens
        ("dapo", 28.0 / 7),  # token mean over the (whole) batch
    ],
)
def test_aggregate_hand_computed(loss_type, expected):
    assert aggregate(X, M, loss_type).item() == pytest.approx(expected)


def loop_aggregate(x: list[list[float]], m: list[list[float]], loss_type: str, max_tokens: int) -> float:
    seqs = [[v for v, k in zip(row, mrow) if k] for row, mrow in zip(x, m)]
    tokens = [v for s in seqs for v in s]
    if loss_type == "grpo":
        return sum(sum(s) / max(len(s), 1) for s in seqs) / len(seqs)
    if loss_type in ("bnpo", "dapo"):
        return sum(tokens) / max(len(tokens), 1)
    return sum(tokens) / (len(seqs) * max_tokens)


@pytest.mark.parametrize("loss_type", ["grpo", "bnpo", "dr_grpo", "dapo"])
def test_aggregate_matches_plain_loop(loss_type):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(9, 11, generator=gen)
    m = (torch.rand(9, 11, generator=gen) > 0.3).float()
    got = aggregate(x, m, loss_type, max_tokens=16).item()
    assert got == pytest.approx(loop_aggregate(x.tolist(), m.tolist(), loss_type, 16), rel=1e-5)


@pytest.mark.parametrize("loss_type", ["grpo", "dr_grpo", "dapo"])
def test_micro_batches_sum_to_the_full_batch_loss(loss_type):
    gen = torch.Generator().manual_seed(3)
    x, m = torch.randn(8, 5, generator=gen), (torch.rand(8, 5, generator=gen) > 0.2).float()
    full = aggregate(x, m, loss_type, max_tokens=5)
    parts = sum(
        aggregate(
            x[i : i + 3], m[i : i + 3], loss_type, max_tokens=5, num_sequences=8, num_tokens=float(m.sum())
        )
        for i in range(0, 8, 3)
    )
    assert float(parts) == pytest.approx(float(full), rel=1e-5)


def loop_grpo_loss(logp, old, ref, adv, mask, beta, eps, eps_high, loss_type, max_tokens):
    per_token = []
    for i in range(len(logp)):
        row = []
        for t in range(len(logp[i])):
            ratio = math.exp(logp[i][t] - old[i][t])
            clipped = min(max(ratio, 1 - eps), 1 + eps_high)
            obj = min(ratio * adv[i], clipped * adv[i])
            d = ref[i][t] - logp[i][t]
            row.append(-obj + beta * (math.exp(d) - d - 1))
        per_token.append(row)
    return loop_aggregate(per_token, mask, loss_type, max_tokens)


@pytest.mark.parametrize("loss_type", ["grpo", "bnpo", "dr_grpo", "dapo"])
def test_grpo_loss_matches_plain_loop(loss_type):
    gen = torch.Generator().manual_seed(4)
    logp = -torch.rand(6, 5, generator=gen) * 2
    old = logp + torch.randn(6, 5, generator=gen) * 0.3
    ref = logp + torch.randn(6, 5, generator=gen) * 0.3
    adv = torch.randn(6, generator=gen)
    mask = (torch.rand(6, 5, generator=gen) > 0.25).float()
    mask[:, 0] = 1
    loss, stats = grpo_loss(
        logp,
        old,
        ref,
        adv,
        mask,
        loss_type=loss_type,
        beta=0.04,
        epsilon=0.2,
        epsilon_high=0.28,
        max_tokens=5,
    )
    want = loop_grpo_loss(
        logp.tolist(), old.tolist(), ref.tolist(), adv.tolist(), mask.tolist(), 0.04, 0.2, 0.28, loss_type, 5
    )
    assert loss.item() == pytest.approx(want, rel=1e-5)
    assert 0 <= stats.clip_frac <= 1 and stats.kl >= 0


def test_gradient_is_the_policy_gradient_when_on_policy():
    # ratio = 1 (old = logp detached): d loss / d logp_t = -A / |o| for grpo
    logp = torch.zeros(1, 4, requires_grad=True)
    loss, _ = grpo_loss(logp, logp.detach(), None, torch.tensor([2.0]), torch.ones(1, 4), loss_type="grpo")
    loss.backward()
    assert logp.grad.tolist()[0] == pytest.approx([-0.5] * 4)


def test_beta_needs_reference():
    with pytest.raises(ValueError, match="ref_logp"):
        grpo_loss(torch.zeros(1, 2), torch.zeros(1, 2), None, torch.ones(1), torch.ones(1, 2), beta=0.1)
