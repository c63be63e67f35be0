"""A tiny trainer config (seconds per run on one CPU core) shared by the smoke and resume tests."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY = """
[run]
output_dir = "{out}"
seed = 1
device = "cpu"
deterministic = true
threads = 1
save_every = 1
keep_checkpoints = 3
plot_every = 2
progress = false

[model]
hidden_size = 32
num_layers = 1
num_heads = 2
num_kv_heads = 1
intermediate_size = 64
max_positions = 128
vocab_size = 300

[data]
task = "addition"
num_train = 64
num_eval = 8
template = "plain"

[sft]
steps = 3
batch_size = 8
num_examples = 32

[rollout]
prompts_per_step = 2
group_size = 4
chunks = 2
max_new_tokens = 12

[grpo]
steps = {steps}
lr = 1e-3
micro_batch_size = 4

[eval]
num_prompts = 4
batch_size = 4

[pool]
workers = 1

[[reward]]
name = "math"

[[reward]]
name = "format"
weight = 0.5
"""


@pytest.fixture
def tiny_config(tmp_path: Path):
    """Write the tiny config with `steps` GRPO steps; returns its path."""

    def make(steps: int = 2) -> Path:
        path = tmp_path / "tiny.toml"
        path.write_text(TINY.format(out=tmp_path / "runs", steps=steps))
        return path

    return make
