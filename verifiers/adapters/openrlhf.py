"""OpenRLHF adapter: registered rewards as OpenRLHF's ``reward_func`` file, and the pieces of its
remote reward-model protocol that `verifiers.server` serves over HTTP.

OpenRLHF's contract (``examples/python/reward_func.py``, ``examples/python/math_reward_func.py``,
``openrlhf/utils/remote_rm_utils.py``): a Python file passed as ``--remote_rm_url my_reward.py``
defines ``reward_func(queries, prompts, labels, **kwargs)``, where ``queries`` are prompt +
response decoded *with* special tokens, ``prompts`` the templated prompts and ``labels`` the
``--label_key`` column; it returns ``{"rewards": tensor, "scores": tensor, "extra_logs": {...}}``
(``scores`` drive dynamic filtering). Over HTTP the same three lists go as JSON
``{"query": [...], "prompts": [...], "labels": [...]}`` and the reply has the same keys.

The file a user writes (two lines)::

    from verifiers.adapters.openrlhf import make_reward_func
    reward_func = make_reward_func("math,format:0.5")

or point ``--remote_rm_url`` at this module's file and set ``R1_VERIFIERS_REWARDS=math,format:0.5``.

The response is the query after its prompt (found by prefix, else by the prompt's last
occurrence), with trailing end-of-sequence/pad tokens removed. ``labels`` become the record's
``answer`` (or ``tests``, parsed from JSON, when the rewards need tests and not an answer); a
JSON object label is read as record fields, e.g. ``{"answer": "42", "language": "en"}``.
A sample no reward can judge gets ``none_score`` (default 0.0) and ``judged`` 0 in ``extra_logs``.
torch is imported only when tensors are built.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from verifiers.adapters._common import BatchScorer, PoolArg, RewardsSpec, resolve_terms
from verifiers.compose import ScoredSample, Term
from verifiers.errors import ConfigError, RecordError
from verifiers.registry import Registry
from verifiers.types import Sample

__all__ = [
    "END_TOKENS",
    "ENV_VAR",
    "OpenRLHFReward",
    "build_samples",
    "extract_response",
    "make_reward_func",
    "reply",
    "reward_func",
]

ENV_VAR = "R1_VERIFIERS_REWARDS"
"""Environment variable read by the module-level `reward_func` (a rewards spec)."""

END_TOKENS = (
    "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "</s>", "<｜end▁of▁sentence｜>",
    "<|end|>", "<|return|>", "<end_of_turn>", "<eos>", "<pad>", "<|pad|>", "[PAD]",
)
"""Special tokens stripped (repeatedly) from the end of a decoded response."""


def extract_response(query: str, prompt: str | None, *, end_tokens: Sequence[str] = END_TOKENS) -> str:
    """The response part of an OpenRLHF query (prompt + response, decoded with special tokens).

    >>> extract_response("<s>Q: 1+1? A: 2<|im_end|>", "Q: 1+1? A:")
    ' 2'
    """
    if prompt:
        if query.startswith(prompt):
            query = query[len(prompt):]
        else:
            at = query.rfind(prompt)
            if at >= 0:  # a BOS or system text before the prompt
                query = query[at + len(prompt):]
    stripped = True
    while stripped:
        stripped = False
        tail = query.rstrip()
        for tok in end_tokens:
            if tok and tail.endswith(tok):
                query, stripped = tail[: -len(tok)], True
                break
    return query


def _label_field(terms: Sequence[Term]) -> str:
    needs = {f for t in terms for f in t.reward.requires}
    return "tests" if "tests" in needs and "answer" not in needs else "answer"


def build_samples(
    queries: Sequence[Any],
    prompts: Sequence[Any] | None,
    labels: Sequence[Any] | None,
    *,
    terms: Sequence[Term],
    label_field: str | None = None,
) -> list[Sample]:
    """OpenRLHF's three lists to `Sample` records; raises `RecordError` naming the item that is wrong."""
    n = len(queries)
    for name, values in (("prompts", prompts), ("labels", labels)):
        if values is not None and len(values) != n:
            raise RecordError(f"'{name}' has {len(values)} items but 'query' has {n}; they must pair up one to one")
    field = label_field or _label_field(terms)
    out = []
    for i in range(n):
        query = queries[i]
        prompt = prompts[i] if prompts is not None else None
        label = labels[i] if labels is not None else None
        if not isinstance(query, str):
            raise RecordError(f"query[{i}] must be a string, got {type(query).__name__}")
        if prompt is not None and not isinstance(prompt, str):
            raise RecordError(f"prompts[{i}] must be a string or null, got {type(prompt).__name__}")
        record: dict[str, Any] = {}
        if isinstance(label, str) and label.lstrip().startswith("{") and field != "tests":
            try:
                parsed = json.loads(label)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                label = parsed
        if isinstance(label, Mapping):
            record.update(label)
        elif label is not None:
            if field == "tests" and isinstance(label, str) and label.lstrip()[:1] in ("{", "["):
                try:
                    label = json.loads(label)
                except json.JSONDecodeError as exc:
                    raise RecordError(f"labels[{i}] looks like JSON tests but does not parse: {exc}") from None
            record[field] = label
        record["completion"] = extract_response(query, prompt)
        if prompt is not None:
            record["prompt"] = prompt
        try:
            out.append(Sample.from_record(record))
        except ValueError as exc:
            raise RecordError(f"item {i}: {exc}") from None
    return out


def reply(scored: Sequence[ScoredSample], keys: Sequence[str], *, none_score: float = 0.0) -> dict[str, Any]:
    """The protocol's reply as plain lists (JSON-ready; None where a term could not judge).

    ``rewards`` and ``scores`` are the totals (``none_score`` where the total is None);
    ``extra_logs`` holds each term's scores, ``judged`` (1/0) and the reason strings.
    """
    totals = [s.reward if s.reward is not None else none_score for s in scored]
    logs: dict[str, Any] = {k: [s.rewards.get(k) for s in scored] for k in keys}
    logs["judged"] = [0.0 if s.reward is None else 1.0 for s in scored]
    return {"rewards": totals, "scores": list(totals), "extra_logs": logs,
            "reasons": [dict(s.reasons) for s in scored]}


class OpenRLHFReward:
    """OpenRLHF ``reward_func``: picklable, returns torch tensors (lists when torch is absent).

    Args:
        rewards: a rewards spec (``"math,format:0.5"``, a TOML path, config entries...).
        registry: where names are looked up (default: the package registry).
        pool: worker pool for heavy rewards (None: the shared pool; False: inline).
        none_score: reward for a sample no reward could judge (``extra_logs["judged"]`` says 0).
        label_field: record field for ``labels`` (default: chosen from the rewards' needs).
    """

    def __init__(
        self,
        rewards: RewardsSpec,
        *,
        registry: Registry | None = None,
        pool: PoolArg = None,
        none_score: float = 0.0,
        label_field: str | None = None,
    ) -> None:
        self.scorer = BatchScorer(resolve_terms(rewards, registry=registry), pool=pool)
        self.none_score = float(none_score)
        self.label_field = label_field
        self.__name__ = "reward_func"

    def score_lists(
        self, queries: Sequence[Any], prompts: Sequence[Any] | None, labels: Sequence[Any] | None
    ) -> dict[str, Any]:
        """The reply as plain lists (see `reply`)."""
        samples = build_samples(queries, prompts, labels, terms=self.scorer.terms, label_field=self.label_field)
        return reply(self.scorer.score(samples), self.scorer.keys, none_score=self.none_score)

    def __call__(
        self, queries: Sequence[str], prompts: Sequence[str] | None = None, labels: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        out = self.score_lists(queries, prompts, labels)
        out.pop("reasons")
        try:
            import torch
        except ModuleNotFoundError:  # lists work for the HTTP path and for tests without torch
            return out
        rewards = torch.tensor(out["rewards"], dtype=torch.float32)
        logs = {
            k: torch.tensor([math.nan if v is None else float(v) for v in vals], dtype=torch.float32)
            for k, vals in out["extra_logs"].items()
        }
        return {"rewards": rewards, "scores": rewards.clone(), "extra_logs": logs}


def make_reward_func(rewards: RewardsSpec, **options: Any) -> OpenRLHFReward:
    """An OpenRLHF ``reward_func`` for `rewards`; options as for `OpenRLHFReward`."""
    return OpenRLHFReward(rewards, **options)


_default: OpenRLHFReward | None = None
_default_lock = threading.Lock()


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF entry point using the rewards named by the ``R1_VERIFIERS_REWARDS`` environment variable."""
    global _default
    with _default_lock:
        if _default is None:
            spec = os.environ.get(ENV_VAR)
            if not spec:
                raise ConfigError(
                    f"set {ENV_VAR} to the rewards to compute (e.g. {ENV_VAR}='math,format:0.5'), "
                    "or write a file with: reward_func = make_reward_func('math,format:0.5')"
                )
            _default = OpenRLHFReward(spec)
    return _default(queries, prompts, labels, **kwargs)
