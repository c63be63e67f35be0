"""Run configuration: one dataclass per component, loaded from TOML, overridable from the command line.

A config file has one table per section (``[run]``, ``[model]``, ``[data]``, ``[sft]``, ``[rollout]``,
``[grpo]``, ``[eval]``, ``[pool]``) and ``[[reward]]`` tables read by `verifiers.Composition.from_config`.
Overrides are ``key=value`` strings with dotted keys (``grpo.beta=0.04``, ``reward.1.weight=0.5``);
the value is parsed as a TOML value, and kept as a string when it is not one (``run.name=foo``).

Every field has a one-line docstring; `__post_init__` checks values and says what to change.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from verifiers.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DataConfig",
    "EvalConfig",
    "GRPOConfig",
    "ModelConfig",
    "PoolConfig",
    "RolloutConfig",
    "RunConfig",
    "SFTConfig",
    "TrainConfig",
    "apply_overrides",
    "load_config",
    "to_toml",
]


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _choice(section: str, name: str, value: Any, allowed: Sequence[Any]) -> None:
    _check(value in allowed, f"{section}.{name} must be one of {list(allowed)}, got {value!r}")


@dataclass
class RunConfig:
    """Where the run goes, seeds, device and bookkeeping."""

    output_dir: str = "runs"
    """Parent folder of run directories."""
    name: str = ""
    """Run directory name under `output_dir`; empty = config file stem plus a timestamp."""
    seed: int = 0
    """Seed of every RNG (data order, model init, sampling)."""
    device: str = "auto"
    """"auto" (cuda when available, else cpu), "cpu", "cuda" or "cuda:N"."""
    dtype: str = "auto"
    """Compute dtype: "auto" (bf16 autocast on CUDA, fp32 on CPU), "float32" or "bfloat16"."""
    deterministic: bool = False
    """torch.use_deterministic_algorithms(True); needed for bit-exact resume tests."""
    threads: int = 0
    """torch intra-op threads; 0 leaves torch's default."""
    save_every: int = 10
    """Write a checkpoint every this many GRPO steps (and at the end); 0 = only at the end."""
    keep_checkpoints: int = 2
    """How many most recent checkpoints to keep."""
    plot_every: int = 10
    """Redraw metrics.png every this many steps; 0 = only at the end."""
    tensorboard: bool = False
    """Also log to TensorBoard (skipped with a note when tensorboard is not installed)."""
    progress: bool = True
    """Show a progress bar."""

    def __post_init__(self) -> None:
        _check(
            self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda"),
            f"run.device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}",
        )
        _choice("run", "dtype", self.dtype, ("auto", "float32", "bfloat16"))
        _check(self.save_every >= 0, f"run.save_every must be >= 0, got {self.save_every}")
        _check(self.keep_checkpoints >= 1, f"run.keep_checkpoints must be >= 1, got {self.keep_checkpoints}")
        _check(self.threads >= 0, f"run.threads must be >= 0, got {self.threads}")


@dataclass
class ModelConfig:
    """The policy: a local transformers checkpoint, or a tiny model built from these sizes."""

    path: str = ""
    """Local folder with a transformers causal LM and its tokenizer; empty = build a tiny model."""
    tokenizer_path: str = ""
    """Local tokenizer folder for a built model; empty = train a small BPE tokenizer on the task's text."""
    arch: str = "qwen2"
    """Architecture of a built model: "qwen2" or "llama"."""
    hidden_size: int = 128
    """Width of a built model."""
    num_layers: int = 2
    """Decoder layers of a built model."""
    num_heads: int = 4
    """Attention heads of a built model."""
    num_kv_heads: int = 2
    """Key/value heads of a built model (grouped-query attention)."""
    intermediate_size: int = 256
    """MLP width of a built model."""
    max_positions: int = 512
    """Longest sequence a built model accepts."""
    vocab_size: int = 512
    """Vocabulary size of a trained BPE tokenizer (the model's embedding matches the tokenizer)."""
    gradient_checkpointing: str = "auto"
    """"auto" (on for CUDA), "on" or "off"."""
    lora_rank: int = 0
    """LoRA rank through peft; 0 = full fine-tuning. With LoRA the reference is the adapter-disabled base."""
    lora_alpha: int = 16
    """LoRA alpha."""
    lora_dropout: float = 0.0
    """LoRA dropout."""
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    """Module names LoRA adapts."""

    def __post_init__(self) -> None:
        _choice("model", "arch", self.arch, ("qwen2", "llama"))
        _choice("model", "gradient_checkpointing", self.gradient_checkpointing, ("auto", "on", "off"))
        _check(
            self.hidden_size % self.num_heads == 0,
            f"model.hidden_size ({self.hidden_size}) must be divisible by model.num_heads ({self.num_heads})",
        )
        _check(
            self.num_heads % self.num_kv_heads == 0,
            f"model.num_heads ({self.num_heads}) must be a multiple of model.num_kv_heads ({self.num_kv_heads})",
        )
        _check(self.lora_rank >= 0, f"model.lora_rank must be >= 0 (0 = no LoRA), got {self.lora_rank}")
        _check(self.vocab_size >= 64, f"model.vocab_size must be >= 64, got {self.vocab_size}")


@dataclass
class DataConfig:
    """Prompts: a local JSONL file or a built-in synthetic task, and the prompt template."""

    path: str = ""
    """Training JSONL (one object per line: `prompt` plus the fields the rewards need); empty = `task`."""
    eval_path: str = ""
    """Held-out JSONL; empty = held-out prompts of the synthetic task (or none for a file)."""
    task: str = "addition"
    """Built-in synthetic task when `path` is empty: "addition" (a + b) or "arithmetic" (a + b, a - b, a * b)."""
    digits: int = 2
    """Digits per operand of the addition task."""
    num_train: int = 2000
    """Training prompts generated for a synthetic task."""
    num_eval: int = 200
    """Held-out prompts for evaluation (disjoint from training prompts)."""
    template: str = "r1_zero"
    """"r1_zero" (the DeepSeek-R1-Zero template), "chat" (the tokenizer's chat template) or "plain"."""
    prompt_field: str = "prompt"
    """JSONL field holding the question (a string, or chat messages for the "chat" template)."""
    language: str = "en"
    """Target language stored with synthetic prompts (for the language consistency reward)."""

    def __post_init__(self) -> None:
        _choice("data", "template", self.template, ("r1_zero", "chat", "plain"))
        if not self.path:
            _choice("data", "task", self.task, ("addition", "arithmetic"))
        _check(1 <= self.digits <= 6, f"data.digits must be between 1 and 6, got {self.digits}")
        _check(
            self.num_train >= 1 and self.num_eval >= 0, "data.num_train must be >= 1 and data.num_eval >= 0"
        )


@dataclass
class SFTConfig:
    """Cold-start supervised fine-tuning on synthetic R1-format traces, before GRPO (R1's cold start)."""

    steps: int = 0
    """Optimizer steps; 0 skips SFT."""
    batch_size: int = 32
    """Traces per step."""
    lr: float = 3e-3
    """AdamW learning rate (cosine decay to 10%)."""
    num_examples: int = 400
    """Distinct traces to train on (few examples keep SFT partial, leaving room for RL)."""
    drop_carry_rate: float = 0.0
    """Fraction of synthetic addition traces written by a teacher who forgets to carry (a systematic slip
    the SFT model inherits and GRPO can fix); 0 = all traces correct."""

    def __post_init__(self) -> None:
        _check(
            0.0 <= self.drop_carry_rate <= 1.0,
            f"sft.drop_carry_rate must be in [0, 1], got {self.drop_carry_rate}",
        )
        _check(
            self.steps >= 0 and self.batch_size >= 1 and self.lr > 0 and self.num_examples >= 1,
            "sft.steps >= 0, sft.batch_size >= 1, sft.lr > 0 and sft.num_examples >= 1 are required",
        )


@dataclass
class RolloutConfig:
    """Sampling: G completions per prompt with HF generate, in chunks scored while the next generates."""

    prompts_per_step: int = 16
    """Prompts per GRPO step."""
    group_size: int = 8
    """G, completions per prompt (GRPO's group; R1 used 16)."""
    chunks: int = 2
    """Generation chunks per step (of whole groups); each is scored while the next one generates."""
    max_new_tokens: int = 32
    """Longest completion in tokens; longer ones are truncated."""
    temperature: float = 1.0
    """Sampling temperature (> 0)."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    top_k: int = 0
    """Top-k sampling; 0 = off."""

    def __post_init__(self) -> None:
        _check(
            self.group_size >= 2,
            f"rollout.group_size must be >= 2 (GRPO needs a group), got {self.group_size}",
        )
        _check(
            self.prompts_per_step >= 1, f"rollout.prompts_per_step must be >= 1, got {self.prompts_per_step}"
        )
        _check(
            1 <= self.chunks <= self.prompts_per_step,
            f"rollout.chunks must be between 1 and rollout.prompts_per_step ({self.prompts_per_step}), "
            f"got {self.chunks}: chunks hold whole groups",
        )
        _check(self.temperature > 0, f"rollout.temperature must be > 0, got {self.temperature}")
        _check(0 < self.top_p <= 1, f"rollout.top_p must be in (0, 1], got {self.top_p}")
        _check(self.max_new_tokens >= 1 and self.top_k >= 0, "rollout.max_new_tokens >= 1 and top_k >= 0")


@dataclass
class GRPOConfig:
    """The GRPO update (DeepSeekMath, arXiv 2402.03300) and its published variants."""

    steps: int = 100
    """GRPO steps (one rollout batch each)."""
    lr: float = 1e-5
    """AdamW learning rate."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    warmup_steps: int = 0
    """Linear warm-up steps, then constant."""
    max_grad_norm: float = 1.0
    """Gradient clipping norm; 0 = off."""
    beta: float = 0.0
    """KL weight (R1 used 0.001, TRL defaults to 0); 0 loads no reference model."""
    epsilon: float = 0.2
    """Clip range of the ratio (PPO/GRPO eps)."""
    epsilon_high: float = 0.0
    """Upper clip range (DAPO clip-higher, 0.28 in arXiv 2503.14476); 0 = same as `epsilon`."""
    num_iterations: int = 1
    """Updates per rollout batch (GRPO's mu) against stored old log-probs."""
    loss_type: str = "grpo"
    """"grpo" (per-sequence mean), "bnpo" (token mean over the batch), "dr_grpo" (sum / (B * max_new_tokens)),
    "dapo" (token mean over the whole rollout batch, across micro-batches)."""
    scale_rewards: str = "group"
    """Divide advantages by the std of the "group", the "batch", or "none" (Dr. GRPO, arXiv 2503.20783)."""
    mask_truncated: bool = False
    """Leave completions that hit max_new_tokens out of the loss (DAPO overlong filtering)."""
    drop_zero_std: bool = False
    """Leave groups whose rewards are all equal out of the backward pass (always counted)."""
    freeze_embeddings: bool = False
    """Keep the (input and output) embeddings fixed in GRPO: with a tiny vocabulary model, Adam turns the small,
    noisy softmax gradient on every vocabulary row into full-size steps."""
    micro_batch_size: int = 32
    """Sequences per forward/backward (gradient accumulation over the batch)."""
    logprob_chunk: int = 1024
    """Positions per chunk in the selective log-softmax (bounds fp32 logits memory)."""

    def __post_init__(self) -> None:
        _choice("grpo", "loss_type", self.loss_type, ("grpo", "bnpo", "dr_grpo", "dapo"))
        _choice("grpo", "scale_rewards", self.scale_rewards, ("group", "batch", "none"))
        _check(self.beta >= 0, f"grpo.beta must be >= 0 (0 = no KL, no reference model), got {self.beta}")
        _check(0 < self.epsilon < 1, f"grpo.epsilon must be in (0, 1), got {self.epsilon}")
        _check(
            self.epsilon_high == 0 or self.epsilon_high >= self.epsilon,
            f"grpo.epsilon_high must be 0 (off) or >= grpo.epsilon ({self.epsilon}), got {self.epsilon_high}",
        )
        _check(self.num_iterations >= 1, f"grpo.num_iterations must be >= 1, got {self.num_iterations}")
        _check(self.steps >= 0 and self.lr > 0, "grpo.steps must be >= 0 and grpo.lr > 0")
        _check(
            self.micro_batch_size >= 1 and self.logprob_chunk >= 1,
            "grpo.micro_batch_size and grpo.logprob_chunk must be >= 1",
        )


@dataclass
class EvalConfig:
    """Held-out accuracy, measured after SFT and after GRPO (and every `every` steps)."""

    num_prompts: int = 200
    """Held-out prompts evaluated (at most data.num_eval for a synthetic task)."""
    every: int = 0
    """Evaluate every this many GRPO steps; 0 = only before and after GRPO."""
    samples: int = 1
    """Completions per prompt: 1 = greedy decoding; > 1 = sampled at rollout.temperature (reports mean)."""
    reward: str = "math"
    """Reward term whose mean is the accuracy (a `key` of the [[reward]] tables)."""
    batch_size: int = 100
    """Prompts per generate call."""

    def __post_init__(self) -> None:
        _check(
            self.num_prompts >= 0 and self.every >= 0 and self.samples >= 1 and self.batch_size >= 1,
            "eval.num_prompts >= 0, eval.every >= 0, eval.samples >= 1, eval.batch_size >= 1 are required",
        )


@dataclass
class PoolConfig:
    """The reward worker pool (created before CUDA initialises)."""

    workers: int = 0
    """Worker processes; 0 = CPU count."""
    memory_limit_mb: int = 2048
    """Address-space limit per worker."""
    start_method: str = "forkserver"
    """"forkserver" (safe with CUDA), "fork" or "spawn"."""

    def __post_init__(self) -> None:
        _choice("pool", "start_method", self.start_method, ("forkserver", "fork", "spawn"))
        _check(self.workers >= 0, f"pool.workers must be >= 0, got {self.workers}")


_DEFAULT_REWARDS: list[dict[str, Any]] = [{"name": "math", "weight": 1.0}, {"name": "format", "weight": 0.5}]


@dataclass
class TrainConfig:
    """A whole run: sections plus the reward composition."""

    run: RunConfig = field(default_factory=RunConfig)
    """Run directory, seed, device."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """The policy."""
    data: DataConfig = field(default_factory=DataConfig)
    """Prompts and template."""
    sft: SFTConfig = field(default_factory=SFTConfig)
    """Cold-start SFT."""
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    """Sampling."""
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    """The update."""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """Held-out evaluation."""
    pool: PoolConfig = field(default_factory=PoolConfig)
    """Reward worker pool."""
    reward: list[dict[str, Any]] = field(default_factory=lambda: [dict(r) for r in _DEFAULT_REWARDS])
    """[[reward]] tables for verifiers.Composition.from_config (name, weight, params, on_none, ...)."""

    def __post_init__(self) -> None:
        _check(
            isinstance(self.reward, list)
            and len(self.reward) > 0
            and all(isinstance(r, dict) for r in self.reward),
            "the config needs one or more [[reward]] tables, each with a `name`",
        )
        keys = [str(r.get("key") or r.get("name")) for r in self.reward]
        _check(
            self.eval.num_prompts == 0 or self.eval.reward in keys,
            f"eval.reward is {self.eval.reward!r}, which is not a reward key; set it to one of {keys}",
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SECTIONS = [f.name for f in dataclasses.fields(TrainConfig)]
_SECTION_TYPES = {
    "run": RunConfig,
    "model": ModelConfig,
    "data": DataConfig,
    "sft": SFTConfig,
    "rollout": RolloutConfig,
    "grpo": GRPOConfig,
    "eval": EvalConfig,
    "pool": PoolConfig,
}


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` overrides to a raw config dict (in place, also returned).

    >>> apply_overrides({"grpo": {"beta": 0.0}}, ["grpo.beta=0.04"])
    {'grpo': {'beta': 0.04}}
    """
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} must look like section.field=value, e.g. grpo.beta=0.04")
        parts = key.strip().split(".")
        node: Any = raw
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                node = _list_item(node, part, ".".join(parts[: i + 1]))
            else:
                node = node.setdefault(part, {})
        last = parts[-1]
        value = _parse_value(text.strip())
        if isinstance(node, list):
            idx = int(last) if last.isdigit() else -1
            _check(
                0 <= idx <= len(node),
                f"override {item!r}: index {last} is out of range (list has {len(node)})",
            )
            if idx == len(node):
                node.append(value)
            else:
                node[idx] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(f"override {item!r}: {'.'.join(parts[:-1])} is not a table")
    return raw


def _list_item(node: list[Any], part: str, where: str) -> Any:
    _check(part.isdigit(), f"override key {where}: a list is indexed by number, e.g. reward.0.weight")
    idx = int(part)
    _check(idx <= len(node), f"override key {where}: index {idx} is out of range (list has {len(node)})")
    if idx == len(node):
        node.append({})
    return node[idx]


def from_dict(raw: Mapping[str, Any]) -> TrainConfig:
    """Build and validate a `TrainConfig` from a nested dict; unknown keys fail with close matches."""
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(_unknown_message("config section", unknown[0], list(_SECTIONS)))
    kwargs: dict[str, Any] = {}
    for name, cls in _SECTION_TYPES.items():
        section = raw.get(name, {})
        if not isinstance(section, Mapping):
            raise ConfigError(f"[{name}] must be a table, got {section!r}")
        names = [f.name for f in dataclasses.fields(cls)]
        for key in section:
            if key not in names:
                raise ConfigError(_unknown_message(f"field of [{name}]", key, names))
        try:
            kwargs[name] = cls(**section)
        except TypeError as exc:
            raise ConfigError(f"[{name}]: {exc}") from exc
    if "reward" in raw:
        kwargs["reward"] = [dict(r) if isinstance(r, Mapping) else r for r in raw["reward"]]
    return TrainConfig(**kwargs)


def _unknown_message(what: str, key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"unknown {what} {key!r}.{hint} Valid: {', '.join(valid)}"


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a TOML config (or the defaults when `path` is None), apply overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {p} does not exist; see configs/ for examples") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}") from exc
    apply_overrides(raw, overrides)
    return from_dict(raw)


def to_toml(config: TrainConfig) -> str:
    """The resolved config as TOML text (saved in every run directory as config.toml)."""
    data = config.to_dict()
    lines: list[str] = []
    for section, values in data.items():
        if section == "reward":
            continue
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        lines.append("")
    for entry in data["reward"]:
        lines.append("[[reward]]")
        for k, v in entry.items():
            lines.append(f"{k} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise ConfigError(f"cannot write {v!r} to TOML")
