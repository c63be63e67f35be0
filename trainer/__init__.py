"""Compact single-node GRPO trainer for r1-verifiers (torch + transformers; CUDA and CPU).

Modules: `config` (dataclasses, TOML, overrides), `data` (JSONL, templates), `tasks` (synthetic
tasks), `model` (policy, tokenizer, reference), `rollout` (chunked generation streamed into the
reward pool), `advantages`, `loss`, `logprobs` (pure tensor functions), `checkpoint`, `metrics`,
`sft` (cold start), `train` (the loop). Run: ``python -m trainer --config configs/demo.toml``.
Importing `trainer` loads no torch; the submodules do.
"""

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """The ``r1-train`` command (see `trainer.__main__`)."""
    from trainer.__main__ import main as _main

    return _main(argv)
