"""Core types: the record schema (`Sample`), a reward's answer (`RewardResult`), the `Reward` base.

Record schema (one JSON object per line in files, a `Sample` in Python):

    completion      str            the model's text (required)
    prompt          str | list     the prompt text or chat messages (optional)
    answer          str | list     gold answer, or a list of acceptable golds (math)
    tests           list | dict    code tests (see `verifiers.code`)
    language        str            target language code for the CoT, e.g. "en", "zh"
    completion_ids  list[int]      token ids of the completion (length rewards use tokens when given)
    group           str | int      prompt-group key (GRPO group); group rewards normalise within it
    <anything else>                kept in `Sample.extra`, passed through to rewards that ask for it

Scored output adds ``rewards`` (name -> score or null), ``reasons`` (name -> reason code) and
``reward`` (the weighted total, or null when it cannot be judged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

__all__ = ["Reason", "Reward", "RewardResult", "Sample", "Scope"]

Scope = Literal["sample", "group"]
"""`sample`: scored one completion at a time. `group`: needs every completion of its prompt group."""


class Reason:
    """Machine-readable reason codes shared by all rewards (rewards may add their own)."""

    OK = "ok"
    WRONG = "mismatch"
    NO_ANSWER = "no_answer"
    NOT_APPLICABLE = "not_applicable"
    MISSING_FIELD = "missing_field"
    TIMEOUT = "timeout"
    CRASH = "worker_crashed"
    ERROR = "error"
    GATED = "gated"


@dataclass(frozen=True, slots=True)
class RewardResult:
    """What a reward says about one completion.

    Attributes:
        score: the reward, or ``None`` when the reward cannot judge this sample (never a silent 0.0).
        reason: a short machine-readable code (see `Reason`), e.g. ``"ok"``, ``"no_answer"``, ``"timeout"``.
        info: extra facts for logs, e.g. ``{"extracted": "42"}``; JSON-serialisable values only.
    """

    score: float | None
    reason: str = Reason.OK
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.score is not None:
            if isinstance(self.score, bool) or not isinstance(self.score, (int, float)):
                raise TypeError(f"RewardResult.score must be a float or None, got {self.score!r}")
            if math.isnan(self.score):
                raise ValueError("RewardResult.score is NaN: return score=None with a reason instead")

    @classmethod
    def cannot_judge(cls, reason: str, **info: Any) -> RewardResult:
        """A result meaning "this reward cannot judge this sample", with why."""
        return cls(None, reason, info)


_FIELDS = ("completion", "prompt", "answer", "tests", "language", "completion_ids", "group")


@dataclass(frozen=True, slots=True)
class Sample:
    """One completion to score, with the fields of its record (see the module docstring)."""

    completion: str
    prompt: str | Sequence[Mapping[str, Any]] | None = None
    answer: str | Sequence[str] | None = None
    tests: Any = None
    language: str | None = None
    completion_ids: Sequence[int] | None = None
    group: str | int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Sample:
        """Build a sample from a dict; unknown keys go to `extra`. Raises ValueError on a bad type."""
        if not isinstance(record, Mapping):
            raise ValueError(f"a record must be a JSON object, got {type(record).__name__}")
        completion = record.get("completion")
        if isinstance(completion, list):  # chat format: take the last assistant message's content
            completion = _last_assistant_text(completion)
        if not isinstance(completion, str):
            raise ValueError(
                "field 'completion' must be a string (or a list of chat messages), "
                f"got {type(completion).__name__}; every record needs the model's text under 'completion'"
            )
        ids = record.get("completion_ids")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, int) for i in ids)):
            raise ValueError("field 'completion_ids' must be a list of integers")
        language = record.get("language")
        if language is not None and not isinstance(language, str):
            raise ValueError(f"field 'language' must be a language code string, got {language!r}")
        answer = record.get("answer")
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)  # a numeric gold in JSON: 42 means "42"
        if answer is not None and not (
            isinstance(answer, str) or (isinstance(answer, list) and all(isinstance(a, str) for a in answer))
        ):
            raise ValueError(
                f"field 'answer' must be a string or a list of strings, got {answer!r:.80}; quote numeric golds"
            )
        extra = {k: v for k, v in record.items() if k not in _FIELDS}
        return cls(
            completion=completion,
            prompt=record.get("prompt"),
            answer=answer,
            tests=record.get("tests"),
            language=language,
            completion_ids=ids,
            group=record.get("group"),
            extra=extra,
        )

    def to_record(self) -> dict[str, Any]:
        """The sample as a JSON-ready dict (fields that are None are left out)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _FIELDS if getattr(self, k) is not None}
        if out.get("completion_ids") is not None:
            out["completion_ids"] = list(out["completion_ids"])
        out.update(self.extra)
        return out

    def group_key(self) -> tuple[Any, ...]:
        """The GRPO group this sample belongs to: its `group` field, else its prompt text (the
        samples of one prompt form a group), else one group for the whole batch."""
        if self.group is not None:
            return ("group", self.group)
        if self.prompt is not None:
            return ("prompt", repr(self.prompt))
        return ("batch",)

    def get(self, name: str, default: Any = None) -> Any:
        """A schema field or a pass-through field by name."""
        if name in _FIELDS:
            value = getattr(self, name)
            return default if value is None else value
        return self.extra.get(name, default)


def _last_assistant_text(messages: Sequence[Any]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role", "assistant") == "assistant":
            content = message.get("content")
            return content if isinstance(content, str) else None
    return None


class Reward:
    """Base class of every reward. Subclasses set the class attributes and override `score`
    (sample scope) or `score_group` (group scope).

    A reward object holds only its parameters (set in ``__init__``, keyword-only, validated there),
    so it pickles and crosses process boundaries. Scoring must be deterministic and must not
    raise on odd model output: return ``RewardResult(None, reason)`` when it cannot judge.
    """

    name: ClassVar[str] = ""
    """Registry key; set by the `register` decorator."""
    scope: ClassVar[Scope] = "sample"
    """`sample` or `group` (needs the whole prompt group, e.g. the Kimi length reward)."""
    requires: ClassVar[tuple[str, ...]] = ()
    """Sample fields that must be present, e.g. ``("answer",)``; missing gives None, reason missing_field."""
    score_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    """Documented range of scores (inclusive)."""
    heavy: ClassVar[bool] = False
    """True for CPU-heavy or possibly-hanging rewards (math, code, language): scored in the worker pool."""
    default_deadline: ClassVar[float] = 5.0
    """Seconds a pool task of this reward may run before its worker is killed."""

    def score(self, sample: Sample) -> RewardResult:
        """Score one sample. Group-scope rewards do not implement this."""
        raise NotImplementedError(f"{type(self).__name__} is a {self.scope}-scope reward: call score_group")

    def score_group(self, samples: Sequence[Sample]) -> list[RewardResult]:
        """Score all samples of one prompt group; the default scores each sample on its own."""
        return [self.score(s) for s in samples]

    def missing(self, sample: Sample) -> RewardResult | None:
        """The cannot-judge result when a required field is absent, else None."""
        for name in self.requires:
            if sample.get(name) is None:
                return RewardResult.cannot_judge(Reason.MISSING_FIELD, field=name)
        return None

    def params(self) -> dict[str, Any]:
        """The reward's parameters (its public instance attributes)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reward) and type(self) is type(other) and self.params() == other.params()

    def __hash__(self) -> int:
        return hash((type(self).__qualname__, repr(sorted(self.params().items()))))
