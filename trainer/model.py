"""The policy, its tokenizer, and the reference model.

- A local transformers checkpoint (`model.path`), or a tiny Qwen2/Llama built from the config with a
  small byte-level BPE tokenizer trained locally on the task's text (no hub downloads).
- CUDA: bf16 weights-in-fp32 with bf16 autocast in the forward passes, gradient checkpointing.
- LoRA through peft: the reference is the same model with the adapter disabled (no second copy).
- beta == 0: no reference at all.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from trainer.config import ModelConfig, RunConfig
from verifiers.errors import ConfigError

__all__ = [
    "SPECIAL_TOKENS",
    "TAG_TOKENS",
    "autocast",
    "build_model",
    "build_tokenizer",
    "load_model",
    "load_tokenizer",
    "reference_context",
    "resolve_device",
]

EOS = "<|endoftext|>"
SPECIAL_TOKENS = [EOS, "<|im_start|>", "<|im_end|>"]
TAG_TOKENS = ["<think>", "</think>", "<answer>", "</answer>"]
"""The R1 tags are single tokens of a built tokenizer (ordinary added tokens: decoding keeps them)."""

_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def resolve_device(run: RunConfig) -> tuple[torch.device, torch.dtype]:
    """Device and compute dtype from the run config ("auto": cuda + bf16 when available, else cpu + fp32)."""
    name = run.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"run.device is {run.device!r} but CUDA is not available; set run.device = 'cpu'")
    device = torch.device(name)
    if run.dtype == "auto":
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    else:
        dtype = getattr(torch, run.dtype)
    return device, dtype


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA (weights stay fp32 for the optimizer); a no-op for fp32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def build_tokenizer(corpus: Iterable[str], *, vocab_size: int = 512) -> Any:
    """Train a small byte-level BPE tokenizer on `corpus` (seconds, offline).

    Digits are split one per token (arithmetic stays learnable); the R1 tags are single tokens;
    ``<|endoftext|>`` is EOS and padding; a ChatML template is attached for ``data.template = "chat"``.
    Decoding round-trips text exactly.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS)  # type: ignore[no-untyped-call]
    fast.add_tokens(TAG_TOKENS)
    fast.chat_template = _CHAT_TEMPLATE
    fast.padding_side = "left"
    return fast


def load_tokenizer(path: str | Path) -> Any:
    """A tokenizer from a local folder, left-padded, with a pad token."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def build_model(cfg: ModelConfig, tokenizer: Any) -> torch.nn.Module:
    """A freshly initialised tiny causal LM sized by `cfg`, its vocabulary matching `tokenizer`."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    config_cls, model_cls = (
        (Qwen2Config, Qwen2ForCausalLM) if cfg.arch == "qwen2" else (LlamaConfig, LlamaForCausalLM)
    )
    hf_config = config_cls(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        intermediate_size=cfg.intermediate_size,
        max_position_embeddings=cfg.max_positions,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.eos_token_id,
    )
    return model_cls(hf_config)  # type: ignore[arg-type]


def load_model(path: str | Path) -> Any:
    """A causal LM from a local folder (fp32 master weights; compute dtype comes from autocast)."""
    from transformers import AutoModelForCausalLM

    p = Path(path)
    if not p.is_dir():
        raise ConfigError(
            f"model.path {p} is not a folder; give a local transformers checkpoint (no hub downloads)"
        )
    return AutoModelForCausalLM.from_pretrained(str(p), local_files_only=True, dtype=torch.float32)


def prepare_model(model: Any, cfg: ModelConfig, device: torch.device) -> Any:
    """Move to `device`, set generation defaults, gradient checkpointing and LoRA as configured."""
    model.to(device)
    gen = getattr(model, "generation_config", None)
    if gen is not None:  # sampling parameters come from the rollout config, never from the checkpoint
        gen.do_sample, gen.temperature, gen.top_p, gen.top_k = False, 1.0, 1.0, None
    checkpointing = cfg.gradient_checkpointing == "on" or (
        cfg.gradient_checkpointing == "auto" and device.type == "cuda"
    )
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False  # generate() turns the cache back on
    if cfg.lora_rank > 0:
        from peft import LoraConfig, get_peft_model

        if checkpointing:
            model.enable_input_require_grads()
        lora = LoraConfig(
            r=cfg.lora_rank,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=list(cfg.lora_targets),
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    return model


def make_reference(policy: torch.nn.Module, cfg: ModelConfig, beta: float) -> torch.nn.Module | None:
    """The frozen reference: None when beta == 0, the policy itself under LoRA (adapter disabled at use),
    else a frozen copy of the initial policy."""
    if beta == 0:
        return None
    if cfg.lora_rank > 0:
        return policy
    ref = copy.deepcopy(policy)
    ref.eval()
    ref.requires_grad_(False)
    return ref


@contextlib.contextmanager
def reference_context(ref: Any, policy: Any) -> Iterator[Any]:
    """Yield the module to run as the reference: the LoRA policy with its adapter disabled, or `ref`."""
    if ref is policy and hasattr(policy, "disable_adapter"):
        with policy.disable_adapter():
            yield policy
    else:
        yield ref


def unwrap(model: Any) -> Any:
    """The transformers model inside a peft wrapper (LoRA layers stay injected)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model
