"""Smoke runs of the whole trainer on a tiny model: files, metrics, and the variant code paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.config import load_config
from trainer.train import train

REQUIRED = [
    "reward/mean",
    "reward/std",
    "rewards/math/mean",
    "rewards/format/std",
    "accuracy",
    "completion/length_mean",
    "kl",
    "clip_frac",
    "entropy",
    "frac_zero_std",
    "reward/none",
    "reward/timeouts",
    "time/generation",
    "time/reward_cpu",
    "time/reward_exposed",
    "time/logprobs",
    "time/backward",
    "time/step",
]


def test_smoke_run_writes_metrics_plot_config_and_checkpoints(tiny_config):
    cfg = load_config(tiny_config(steps=2))
    summary = train(cfg, config_path="tiny.toml")
    run = Path(summary["run_dir"])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for key in REQUIRED:
        assert key in rows[0], key
    assert (run / "metrics.png").stat().st_size > 1000
    assert load_config(run / "config.toml") == cfg  # the saved copy is the resolved config
    assert (run / "checkpoints" / "step-2" / "state.json").is_file()
    assert (run / "tokenizer" / "tokenizer.json").is_file()
    assert 0.0 <= summary["eval_after"]["accuracy"] <= 1.0
    assert summary["eval_before"]["greedy_n"] == 4


@pytest.mark.parametrize(
    "overrides",
    [
        # KL with a frozen reference copy, two updates per batch against stored old log-probs
        ["grpo.beta=0.04", "grpo.num_iterations=2", "grpo.loss_type='bnpo'", "grpo.epsilon_high=0.28"],
        # LoRA: the reference is the adapter-disabled base; Dr. GRPO; truncation masking; zero-std dropping
        [
            "model.lora_rank=4",
            "grpo.beta=0.04",
            "grpo.loss_type='dr_grpo'",
            "grpo.scale_rewards='none'",
            "grpo.mask_truncated=true",
            "grpo.drop_zero_std=true",
            "sft.steps=0",
        ],
    ],
    ids=["kl-mu2-bnpo", "lora-drgrpo"],
)
def test_variants_run(tiny_config, overrides):
    cfg = load_config(tiny_config(steps=1), overrides + ["eval.num_prompts=0"])
    summary = train(cfg)
    rows = [
        json.loads(line) for line in (Path(summary["run_dir"]) / "metrics.jsonl").read_text().splitlines()
    ]
    assert rows[0]["kl"] >= 0.0
    assert rows[0]["loss"] == rows[0]["loss"]  # not NaN
