"""Prompts: local JSONL records or a synthetic task, rendered with the R1-Zero or a chat template,
served in a seeded order that a resumed run reproduces.

A JSONL record is one JSON object per line: the question under `prompt_field` (a string, or chat
messages ``[{"role", "content"}]`` for the chat template) plus whatever the rewards need
(``answer``, ``tests``, ``language``...). A malformed line raises `verifiers.errors.RecordError`
naming the file and line.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.config import DataConfig
from trainer.tasks import make_records
from verifiers.errors import ConfigError, RecordError
from verifiers.records import iter_records

__all__ = ["R1_ZERO_TEMPLATE", "PromptStream", "load_jsonl", "load_prompts", "render_prompt"]

R1_ZERO_TEMPLATE = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with "
    "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
    "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
    "</answer>. User: {prompt}. Assistant:"
)
"""The DeepSeek-R1-Zero training template (arXiv 2501.12948, Table 1); `{prompt}` is the question."""


def load_jsonl(path: str | Path, *, prompt_field: str = "prompt") -> list[dict[str, Any]]:
    """Read prompt records from a JSONL file.

    Args:
        path: the file; blank lines are skipped.
        prompt_field: the key holding the question (string or list of chat messages).

    Returns:
        The records, in file order, each a dict with the prompt under ``"prompt"``.

    Raises:
        RecordError: a line is not a JSON object or lacks a usable prompt (names file and line).
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"data file {p} does not exist; set data.path to a local JSONL file")
    records = []
    for lineno, record in iter_records(p):  # malformed JSON raises RecordError(file, line)
        prompt = record.get(prompt_field)
        if isinstance(prompt, str) and prompt.strip():
            pass
        elif (
            isinstance(prompt, list)
            and prompt
            and all(
                isinstance(m, Mapping) and isinstance(m.get("content"), str) and "role" in m
                for m in prompt
            )
        ):
            pass
        else:
            raise RecordError(
                f"field {prompt_field!r} must be a non-empty string or a list of {{role, content}} messages, "
                f"got {prompt!r:.80}; set data.prompt_field if the question is under another key",
                path=str(p),
                line=lineno,
            )
        answer = record.get("answer")
        if answer is not None and not isinstance(answer, (str, int, float, list)):
            raise RecordError(
                f"field 'answer' must be a string or a list of strings, got {answer!r:.80}",
                path=str(p),
                line=lineno,
            )
        if prompt_field != "prompt":
            record["prompt"] = record.pop(prompt_field)
        records.append(record)
    if not records:
        raise ConfigError(f"data file {p} holds no records")
    return records


def load_prompts(cfg: DataConfig, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Training and held-out records from `cfg` (a JSONL file, or the synthetic task)."""
    if cfg.path:
        train = load_jsonl(cfg.path, prompt_field=cfg.prompt_field)
        held = load_jsonl(cfg.eval_path, prompt_field=cfg.prompt_field) if cfg.eval_path else []
        return train, held
    return make_records(
        cfg.task, cfg.num_train, cfg.num_eval, digits=cfg.digits, seed=seed, language=cfg.language
    )


def render_prompt(record: Mapping[str, Any], template: str, tokenizer: Any = None) -> str:
    """The text the model continues.

    Args:
        record: a prompt record (``record["prompt"]`` is a string or chat messages).
        template: "r1_zero", "chat" (needs a tokenizer with a chat template) or "plain".
        tokenizer: used by the chat template.

    >>> render_prompt({"prompt": "What is 2 + 2?"}, "plain")
    'What is 2 + 2?'
    """
    prompt = record["prompt"]
    if template == "chat":
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ConfigError("data.template = 'chat' needs a tokenizer with a chat template; use 'r1_zero'")
        return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    if not isinstance(prompt, str):
        prompt = "\n".join(str(m["content"]) for m in prompt)
    if template == "r1_zero":
        return R1_ZERO_TEMPLATE.format(prompt=prompt.rstrip().rstrip("."))
    return prompt


@dataclass
class PromptStream:
    """Records in a seeded order: a fresh shuffle per epoch; `position` counts records served.

    The order is a function of (seed, position) only, so a resumed run that restores `position`
    sees the same prompts as an uninterrupted one.
    """

    records: Sequence[dict[str, Any]]
    seed: int
    position: int = 0

    def _order(self, epoch: int) -> list[int]:
        cached = self.__dict__.get("_cache")
        if cached is not None and cached[0] == epoch:
            return cached[1]  # type: ignore[no-any-return]
        order = list(range(len(self.records)))
        random.Random(f"prompts-{self.seed}-{epoch}").shuffle(order)
        self.__dict__["_cache"] = (epoch, order)
        return order

    def take(self, n: int) -> list[dict[str, Any]]:
        """The next `n` records (wrapping into a new epoch as needed)."""
        out = []
        size = len(self.records)
        for _ in range(n):
            epoch, idx = divmod(self.position, size)
            out.append(self.records[self._order(epoch)[idx]])
            self.position += 1
        return out

    def state(self) -> dict[str, int]:
        return {"position": self.position, "seed": self.seed}

    def load_state(self, state: Mapping[str, int]) -> None:
        if int(state["seed"]) != self.seed:
            raise ConfigError(
                f"checkpoint data seed {state['seed']} differs from run.seed {self.seed}; resume "
                "with the run's own config.toml"
            )
        self.position = int(state["position"])
