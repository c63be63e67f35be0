"""Find the final answer in a completion.

Modes:
* ``strict`` (RL): an ``<answer>`` tag, else the last ``\\boxed{}`` / ``\\fbox{}`` (real brace
  matching; ``\\boxed 5`` too), else an explicit anchor ("final answer is", "the answer is",
  "Answer:"). No unanchored fallback, so a bare number somewhere in the text earns nothing.
* ``lenient`` (evaluation): the same, then the last math span (``$..$``, ``\\(..\\)``, ``\\[..\\]``),
  then a short completion taken whole, then the last number.

Boxes close together with no correction word between them form the final *cluster*: several
different boxed answers there are a hedge (``\\boxed{5} or \\boxed{6}``), while a box after a
correction ("Wait, that is wrong ... \\boxed{7}") starts a new cluster and wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from verifiers.math.normalize import match_brace

__all__ = ["Extraction", "extract_answer", "find_boxes"]

MAX_ANSWER_CHARS = 1000
CLUSTER_GAP = 80

_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_ANCHOR = re.compile(
    r"(?:final answer is|final answer:|the answer is|answer is:|answer:|\*\*answer\*\*:?)\s*(?:[:=]\s*)?", re.I
)
_CORRECTION = re.compile(
    r"wait|wrong|mistake|incorrect|error|actually|however|but |recheck|re-check|reconsider|correct(?:ion|ed)?|"
    r"instead|hmm|oops|let me|no,|revis|double-check|therefore|thus|so |final|hence",
    re.I,
)
# a ``\$`` inside a span is an escaped dollar sign, not its end
_MATH = re.compile(r"(?<!\\)\$\$((?:\\.|[^$\\])+?)\$\$|(?<!\\)\$((?:\\.|[^$\\])+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_NUMBER = re.compile(r"-?\d+/\d+|-?\d[\d,]*(?:\.\d+)?%?|-?\.\d+")
_SEPARATORS = re.compile(r"^(?:\s|,|;|and|or|\\text\{\s*(?:and|or)\s*\})*$", re.I)
_FINAL = re.compile(r"final answer", re.I)
_HOPE = re.compile(r"\.?\s*I hope it is correct.*$", re.I | re.S)


@dataclass(frozen=True, slots=True)
class Extraction:
    """What `extract_answer` found."""

    answer: str | None
    """The answer text (several boxes of a final cluster joined by ``, ``), or None."""
    reason: str
    """``ok``, ``no_answer``, ``too_long``."""
    source: str = ""
    """Where it came from: ``tag``, ``boxed``, ``anchor``, ``math``, ``whole``, ``number``."""
    parts: tuple[str, ...] = ()
    """The boxes of the final cluster (more than one: joined answer or a hedge)."""


def find_boxes(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed``/``\\fbox`` with its span and content; unbalanced ones are skipped."""
    out = []
    for m in _BOX.finditer(text):
        j = m.end()
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            k = match_brace(text, j)
            if k < 0:
                continue
            out.append((m.start(), k + 1, text[j + 1: k]))
        elif j > m.end():  # \boxed 5
            k = j
            while k < len(text) and not text[k].isspace() and text[k] not in "$.,;":
                k += 1
            if k > j:
                out.append((m.start(), k, text[j:k]))
    return out


def _cluster(text: str, boxes: list[tuple[int, int, str]]) -> list[str]:
    cluster = [boxes[-1]]
    for prev in reversed(boxes[:-1]):
        gap = text[prev[1]: cluster[0][0]]
        if len(gap.replace("$", "").strip()) > CLUSTER_GAP or _CORRECTION.search(gap):
            break
        cluster.insert(0, prev)
    return [b[2] for b in cluster]


def _anchor(text: str, lenient: bool = False) -> str | None:
    end = None
    for m in _ANCHOR.finditer(text):
        end = m.end()
    if end is None:
        return None
    found = _HOPE.sub("", text[end:].lstrip().split("\n")[0]).strip()
    found = re.split(r"<\|", found)[0]
    if " is " in found and not found.startswith("$"):
        found = found.rsplit(" is ", 1)[1]
    spans = list(_MATH.finditer(found))
    if spans:
        texts = [next(g for g in m.groups() if g is not None) for m in spans]
        k = 1  # "$12$ and $13$": consecutive spans joined by separators form one answer
        while k < len(spans) and _SEPARATORS.match(found[spans[k - 1].end(): spans[k].start()]):
            k += 1
        return ", ".join(texts[:k])
    found = re.split(r"(?<!\d)\.(?:\s|$)|\s(?:because|since|which)\s", found)[0].strip().rstrip(".")
    if lenient and len(re.findall(r"[A-Za-z]{2,}", found)) >= 3:
        numbers = _NUMBER.findall(found)
        return numbers[-1] if numbers else found
    return found or None


def _finish(answer: str | None, source: str, max_chars: int, parts: tuple[str, ...] = ()) -> Extraction:
    if answer is None or not answer.strip():
        return Extraction(None, "no_answer")
    if len(answer) > max_chars:
        return Extraction(None, "too_long", source)
    return Extraction(answer.strip(), "ok", source, parts)


def extract_answer(text: str, *, mode: str = "strict", max_chars: int = MAX_ANSWER_CHARS) -> Extraction:
    """The final answer of `text` (see the module docstring).

    >>> extract_answer("so $\\\\boxed{5}$. Wait, that is wrong: \\\\boxed{7}").answer
    '7'
    """
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be 'strict' or 'lenient', got {mode!r}")
    if "</think>" in text:
        after = text.rsplit("</think>", 1)[1]
        if _BOX.search(after) or _TAG.search(after) or _ANCHOR.search(after) or mode == "lenient":
            text = after if after.strip() else text
    tags = _TAG.findall(text)
    if tags:
        content = tags[-1]
        inner = find_boxes(content)
        if inner:
            parts = tuple(_cluster(content, inner))
            return _finish(", ".join(parts), "tag", max_chars, parts)
        return _finish(_anchor(content) or content, "tag", max_chars)
    boxes = find_boxes(text)
    if boxes:
        final = _FINAL.search(text, boxes[-1][1]) if mode == "lenient" else None
        anchored = _anchor(text[final.start():], True) if final else None
        if anchored:  # "\\boxed{255} ... The final answer is $10,455$": the later statement wins
            return _finish(anchored, "anchor", max_chars)
        parts = tuple(_cluster(text, boxes))
        return _finish(", ".join(parts), "boxed", max_chars, parts)
    anchored = _anchor(text, mode == "lenient")
    if anchored:
        return _finish(anchored, "anchor", max_chars)
    if mode == "strict":
        return Extraction(None, "no_answer")
    matches = list(_MATH.finditer(text))
    spans = [next((g for g in m.groups() if g), "") for m in matches]
    if spans:
        if _SEPARATORS.match(_MATH.sub("", text)):  # "$1$ and $2$ and $3$": the spans are the answer
            return _finish(", ".join(spans), "math", max_chars)
        after = _HOPE.sub("", text[matches[-1].end():])
        numbers = _NUMBER.findall(after)
        if numbers:  # "... $d=\\frac{90}{n}$ ... so there are 12 sequences": the last stated value
            return _finish(numbers[-1], "number", max_chars)
        return _finish(spans[-1], "math", max_chars)
    stripped = text.strip()
    if len(stripped) <= 60 and len(re.findall(r"[A-Za-z]{2,}", stripped)) <= 3:
        return _finish(stripped, "whole", max_chars)
    numbers = _NUMBER.findall(text)
    if numbers:
        return _finish(numbers[-1], "number", max_chars)
    return Extraction(None, "no_answer")
