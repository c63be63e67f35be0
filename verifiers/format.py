"""Format rewards for the DeepSeek-R1 template ``<think> reasoning </think> <answer> answer </answer>``.

Three rewards, all sample-scope, all cheap (a handful of ``str.count``/``str.find`` calls, no regex):

- ``format``      strict: 1.0 only for exactly one well-ordered template and nothing around it.
- ``format_soft`` the think block only (TRL ``think_format_reward`` semantics, made prefill-aware).
- ``tag_count``   dense partial credit: a share per tag that is present once and in its place.

Every reward takes ``think_prefilled``: chat templates of served R1 models (and Qwen3 thinking mode)
end the *prompt* with ``<think>``, so a perfect completion holds no ``<think>`` at all. Peers score
such completions 0 (open-r1 #560, trl #6966); here the prompt is credited with the opening tag and
the completion must *not* repeat it.

Whitespace and newlines around tags are free: the R1 paper fixes the tags, not the layout, and the
peer's newline-exact patterns (``"<think>\\n"``) punish a model for a blank line. Tags are
case-sensitive and exact (``<Think>`` is not a tag).
"""

from __future__ import annotations

from typing import Any, ClassVar

from verifiers.errors import ConfigError
from verifiers.registry import register
from verifiers.text import ANSWER_CLOSE, ANSWER_OPEN, THINK_CLOSE, THINK_OPEN
from verifiers.types import Reward, RewardResult, Sample

__all__ = [
    "FormatReason",
    "FormatReward",
    "SoftFormatReward",
    "TagCountReward",
    "check_format",
    "check_think_format",
    "count_tags",
]


class FormatReason:
    """Reason codes of the format rewards (the first problem found, in the order listed)."""

    OK = "ok"
    MISSING_TAG = "missing_tag"
    """A required tag does not occur (``info["tag"]`` names it)."""
    DUPLICATE_TAG = "duplicate_tag"
    """A tag occurs more than once, or ``<think>`` occurs in a completion whose prompt prefilled it."""
    WRONG_ORDER = "wrong_order"
    """All tags occur once but not as think-open, think-close, answer-open, answer-close."""
    LEADING_TEXT = "leading_text"
    """Non-whitespace before ``<think>``."""
    TEXT_BETWEEN = "text_between"
    """Non-whitespace between ``</think>`` and ``<answer>``."""
    TRAILING_TEXT = "trailing_text"
    """Non-whitespace after ``</answer>`` (the open-r1 MULTILINE ``$`` bug scores this 1.0)."""
    EMPTY_THINK = "empty_think"
    """Nothing but whitespace inside the think block (allowed with ``allow_empty_think=True``)."""
    EMPTY_ANSWER = "empty_answer"
    """Nothing but whitespace inside ``<answer>`` (or after ``</think>`` when no answer tag is required)."""


def _blank(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` is empty or whitespace only."""
    return start >= end or text[start:end].isspace()


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
    return value


def check_format(
    completion: str,
    *,
    think_prefilled: bool = False,
    require_answer_tag: bool = True,
    allow_empty_think: bool = False,
) -> tuple[str, str]:
    """Check the strict R1 template; the pure core of the ``format`` reward.

    The completion must be, up to whitespace around the tags,
    ``<think> T </think> <answer> A </answer>`` with each tag exactly once, T non-empty (unless
    `allow_empty_think`) and A non-empty. With `think_prefilled` the leading ``<think>`` is in the
    prompt and must not occur in the completion. With ``require_answer_tag=False`` (served R1 style)
    the completion is ``<think> T </think> A`` with A non-empty; answer tags inside A are then
    ordinary text and are not checked.

    Args:
        completion: the model's text.
        think_prefilled: the prompt already ends with ``<think>``.
        require_answer_tag: demand the ``<answer>...</answer>`` block.
        allow_empty_think: accept a think block holding only whitespace.

    Returns:
        ``(reason, tag)``: a `FormatReason` code (``"ok"`` when the format holds) and the tag it
        concerns (``""`` when none).

    >>> check_format("<think>\\n2+2=4\\n</think>\\n<answer>\\n4\\n</answer>")
    ('ok', '')
    >>> check_format("<think>a</think><answer>4</answer> Hope this helps!")
    ('trailing_text', '</answer>')
    >>> check_format("2+2=4</think><answer>4</answer>", think_prefilled=True)
    ('ok', '')
    """
    text = completion
    # 1. think block
    n_open = text.count(THINK_OPEN)
    if think_prefilled:
        if n_open:
            return FormatReason.DUPLICATE_TAG, THINK_OPEN
        body_start = 0
    else:
        if n_open == 0:
            return FormatReason.MISSING_TAG, THINK_OPEN
        if n_open > 1:
            return FormatReason.DUPLICATE_TAG, THINK_OPEN
    n_close = text.count(THINK_CLOSE)
    if n_close == 0:
        return FormatReason.MISSING_TAG, THINK_CLOSE
    if n_close > 1:
        return FormatReason.DUPLICATE_TAG, THINK_CLOSE
    if require_answer_tag:
        for tag in (ANSWER_OPEN, ANSWER_CLOSE):
            n = text.count(tag)
            if n != 1:
                return (FormatReason.MISSING_TAG if n == 0 else FormatReason.DUPLICATE_TAG), tag
    close_at = text.find(THINK_CLOSE)
    open_at = -1 if think_prefilled else text.find(THINK_OPEN)
    after_think = close_at + len(THINK_CLOSE)
    ans_open = ans_close = -1
    # order first, so that swapped blocks read as "wrong_order", not as leading text
    if open_at > close_at:
        return FormatReason.WRONG_ORDER, THINK_CLOSE
    if require_answer_tag:
        ans_open = text.find(ANSWER_OPEN)
        ans_close = text.find(ANSWER_CLOSE)
        if ans_open < after_think:
            return FormatReason.WRONG_ORDER, ANSWER_OPEN
        if ans_close < ans_open + len(ANSWER_OPEN):
            return FormatReason.WRONG_ORDER, ANSWER_CLOSE
    if not think_prefilled:
        if not _blank(text, 0, open_at):
            return FormatReason.LEADING_TEXT, THINK_OPEN
        body_start = open_at + len(THINK_OPEN)
    if require_answer_tag:
        if not _blank(text, after_think, ans_open):
            return FormatReason.TEXT_BETWEEN, ANSWER_OPEN
        if not _blank(text, ans_close + len(ANSWER_CLOSE), len(text)):
            return FormatReason.TRAILING_TEXT, ANSWER_CLOSE
        answer_span = (ans_open + len(ANSWER_OPEN), ans_close)
    else:
        answer_span = (after_think, len(text))
    if not allow_empty_think and _blank(text, body_start, close_at):
        return FormatReason.EMPTY_THINK, THINK_OPEN
    if _blank(text, *answer_span):
        return FormatReason.EMPTY_ANSWER, ANSWER_OPEN if require_answer_tag else ""
    return FormatReason.OK, ""


def check_think_format(
    completion: str, *, think_prefilled: bool = False, allow_empty_think: bool = False
) -> tuple[str, str]:
    """Check the think block only; the pure core of ``format_soft``.

    The completion must start (after whitespace) with the only ``<think>`` (or, with
    `think_prefilled`, contain no ``<think>``), hold exactly one ``</think>``, non-empty reasoning
    before it (unless `allow_empty_think`), and something non-empty after it. What follows
    ``</think>`` is not checked further.

    Returns:
        ``(reason, tag)`` as in `check_format`.

    >>> check_think_format("<think>hmm</think> 4")
    ('ok', '')
    >>> check_think_format("<think>hmm</think>")
    ('empty_answer', '')
    """
    return check_format(
        completion,
        think_prefilled=think_prefilled,
        require_answer_tag=False,
        allow_empty_think=allow_empty_think,
    )


_ALL_TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)


def count_tags(
    completion: str, *, think_prefilled: bool = False, require_answer_tag: bool = True
) -> tuple[dict[str, bool], str]:
    """Which template tags count for ``tag_count``; the pure core of that reward.

    A tag counts when it occurs exactly once **and** sits in its place: before every other
    single-occurrence tag that should follow it and after every one that should precede it; the
    first tag (``<think>``) also needs only whitespace before it, the last (``</answer>``, or
    ``</think>`` when no answer tag is required) only whitespace after it. So an ``<answer>`` block
    written *inside* the reasoning does not count, nor does a tag followed by junk.

    With `think_prefilled`, ``<think>`` counts when the completion does **not** contain it (the
    prompt supplied it); a completion repeating it loses that tag. This fixes the peer bug where a
    perfect prefilled completion can never score above 0.75 (open-r1 ``tag_count_reward``).

    Returns:
        ``(counted, reason)``: tag -> counted, and the first problem's `FormatReason` code
        (``"ok"`` when all count).

    >>> count_tags("<think>x</think><answer>4</answer>")[1]
    'ok'
    >>> sum(count_tags("x</think><answer>4</answer>", think_prefilled=True)[0].values())
    4
    """
    tags = _ALL_TAGS if require_answer_tag else _ALL_TAGS[:2]
    positions: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for tag in tags:
        n = completion.count(tag)
        if tag == THINK_OPEN and think_prefilled:
            if n == 0:
                positions[tag] = -1  # supplied by the prompt, before everything
            else:
                reasons[tag] = FormatReason.DUPLICATE_TAG
        elif n == 1:
            positions[tag] = completion.find(tag)
        else:
            reasons[tag] = FormatReason.MISSING_TAG if n == 0 else FormatReason.DUPLICATE_TAG
    # order: each present tag must be consistent with every other present tag
    present = [t for t in tags if t in positions]
    for i, a in enumerate(present):
        for b in present[i + 1 :]:
            if positions[a] >= positions[b]:
                reasons.setdefault(a, FormatReason.WRONG_ORDER)
                reasons.setdefault(b, FormatReason.WRONG_ORDER)
    first, last = tags[0], tags[-1]
    if first not in reasons and positions.get(first, -1) > 0 and not _blank(completion, 0, positions[first]):
        reasons[first] = FormatReason.LEADING_TEXT
    if last not in reasons and last in positions:
        end = positions[last] + len(last)
        if not _blank(completion, end, len(completion)):
            reasons[last] = FormatReason.TRAILING_TEXT
    counted = {t: t not in reasons for t in tags}
    first_problem = next((reasons[t] for t in tags if t in reasons), FormatReason.OK)
    return counted, first_problem


@register("format")
class FormatReward(Reward):
    """Strict R1 format: 1.0 iff the completion is exactly ``<think> T </think> <answer> A </answer>``.

    Definition (see `check_format`): score = 1.0 when each of the four tags occurs exactly once, in
    that order, with only whitespace before ``<think>``, between ``</think>`` and ``<answer>``, and
    after ``</answer>``, non-empty T (unless `allow_empty_think`) and non-empty A; else 0.0 with the
    first problem as reason (`FormatReason`). A duplicated block or trailing text is 0.0, unlike the
    open-r1 MULTILINE regex that scores both 1.0.

    Args:
        think_prefilled: the chat template already put ``<think>`` in the prompt; the completion
            must then start inside the think block and must not contain ``<think>``.
        require_answer_tag: True (R1-Zero template) demands ``<answer>...</answer>``; False (served
            R1) accepts ``<think> T </think> A`` with any non-empty A.
        allow_empty_think: accept ``<think></think>`` (e.g. Qwen3 no-think mode).
    """

    score_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def __init__(
        self,
        *,
        think_prefilled: bool = False,
        require_answer_tag: bool = True,
        allow_empty_think: bool = False,
    ) -> None:
        self.think_prefilled = _check_bool("format: think_prefilled", think_prefilled)
        self.require_answer_tag = _check_bool("format: require_answer_tag", require_answer_tag)
        self.allow_empty_think = _check_bool("format: allow_empty_think", allow_empty_think)

    def score(self, sample: Sample) -> RewardResult:
        reason, tag = check_format(
            sample.completion,
            think_prefilled=self.think_prefilled,
            require_answer_tag=self.require_answer_tag,
            allow_empty_think=self.allow_empty_think,
        )
        if reason == FormatReason.OK:
            return RewardResult(1.0, reason)
        return RewardResult(0.0, reason, {"tag": tag} if tag else {})


@register("format_soft")
class SoftFormatReward(Reward):
    """Think-block format: 1.0 iff the completion opens with the only ``<think>``, closes it once,
    reasons inside it and says something after it; else 0.0.

    Definition (see `check_think_format`): ``format`` with ``require_answer_tag=False``: exactly one
    ``<think>`` (none with `think_prefilled`) preceded only by whitespace, exactly one ``</think>``
    after it, non-whitespace reasoning between them (unless `allow_empty_think`), and non-whitespace
    text after ``</think>``. Unlike TRL's ``think_format_reward``, an empty answer scores 0 and a
    prefilled ``<think>`` is supported.

    Args:
        think_prefilled: the chat template already put ``<think>`` in the prompt.
        allow_empty_think: accept a think block holding only whitespace.
    """

    score_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def __init__(self, *, think_prefilled: bool = False, allow_empty_think: bool = False) -> None:
        self.think_prefilled = _check_bool("format_soft: think_prefilled", think_prefilled)
        self.allow_empty_think = _check_bool("format_soft: allow_empty_think", allow_empty_think)

    def score(self, sample: Sample) -> RewardResult:
        reason, tag = check_think_format(
            sample.completion, think_prefilled=self.think_prefilled, allow_empty_think=self.allow_empty_think
        )
        if reason == FormatReason.OK:
            return RewardResult(1.0, reason)
        return RewardResult(0.0, reason, {"tag": tag} if tag else {})


@register("tag_count")
class TagCountReward(Reward):
    """Tag count: an equal share of 1.0 for each template tag that occurs once and in its place.

    Definition (see `count_tags`): score = (number of counted tags) / (number of tags), with tags
    ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` (0.25 each), or only the two think tags
    (0.5 each) with ``require_answer_tag=False``. A tag counts iff it occurs exactly once and is in
    order with every other tag that occurs once; the first tag also needs nothing but whitespace
    before it and the last nothing but whitespace after it. With `think_prefilled`, ``<think>``
    counts iff the completion does not repeat it, so a perfect prefilled completion scores 1.0
    (the open-r1 ``tag_count_reward`` gives it 0.75).

    Args:
        think_prefilled: the chat template already put ``<think>`` in the prompt.
        require_answer_tag: count the answer tags too (False: think tags only).
    """

    score_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def __init__(self, *, think_prefilled: bool = False, require_answer_tag: bool = True) -> None:
        self.think_prefilled = _check_bool("tag_count: think_prefilled", think_prefilled)
        self.require_answer_tag = _check_bool("tag_count: require_answer_tag", require_answer_tag)

    def score(self, sample: Sample) -> RewardResult:
        counted, reason = count_tags(
            sample.completion,
            think_prefilled=self.think_prefilled,
            require_answer_tag=self.require_answer_tag,
        )
        score = sum(counted.values()) / len(counted)
        return RewardResult(score, reason, {"counted": [t for t, ok in counted.items() if ok]})
