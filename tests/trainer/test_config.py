"""Config: TOML + dotted overrides, validation messages that say what to change, a saved copy that loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainer.config import apply_overrides, load_config, to_toml
from verifiers.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert cfg.reward


def test_dotted_overrides_reach_nested_fields_and_lists():
    cfg = load_config(
        CONFIGS / "demo.toml",
        ["grpo.beta=0.04", "reward.1.weight=0.5", "run.name=abc", "model.lora_targets=['q_proj']"],
    )
    assert cfg.grpo.beta == 0.04
    assert cfg.reward[1]["weight"] == 0.5
    assert cfg.run.name == "abc"  # not TOML: kept as a string
    assert cfg.model.lora_targets == ["q_proj"]


def test_unknown_field_names_close_match():
    with pytest.raises(ConfigError, match="Did you mean 'beta'"):
        load_config(None, ["grpo.betta=0.1"])


def test_unknown_section_is_an_error():
    with pytest.raises(ConfigError, match="unknown config section 'grp'"):
        load_config(None, ["grp.beta=0.1"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("grpo.loss_type='ppo'", "grpo.loss_type must be one of"),
        ("rollout.group_size=1", "GRPO needs a group"),
        ("grpo.epsilon_high=0.1", "epsilon_high must be 0"),
        ("rollout.chunks=99", "chunks hold whole groups"),
        ("grpo.scale_rewards='std'", "scale_rewards must be one of"),
        ("eval.reward='nope'", "set it to one of"),
        ("run.device='tpu'", "run.device must be"),
    ],
)
def test_bad_values_say_what_to_change(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_malformed_override():
    with pytest.raises(ConfigError, match="section.field=value"):
        apply_overrides({}, ["grpo.beta"])


def test_saved_copy_round_trips(tmp_path):
    cfg = load_config(CONFIGS / "demo.toml", ["grpo.beta=0.01"])
    path = tmp_path / "config.toml"
    path.write_text(to_toml(cfg))
    assert load_config(path) == cfg
