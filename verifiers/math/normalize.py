"""LaTeX answer strings -> a canonical string: delimiters, spacing, units and decorations removed.

Pure string functions, no sympy. `normalize` is applied to golds and predictions alike, so two
answers that differ only in presentation (``\\dfrac{1}{2}`` vs ``\\frac12``, ``90^\\circ`` vs ``90``,
``5\\text{ cm}`` vs ``5``) meet as equal strings before any arithmetic.
Variable case is kept: ``N`` and ``n`` stay different.
"""

from __future__ import annotations

import re

__all__ = ["UnbalancedError", "match_brace", "normalize", "split_top", "strip_text_units"]

_OPEN = {"{": "}", "(": ")", "[": "]"}


class UnbalancedError(ValueError):
    """Braces do not balance in an answer string."""


def match_brace(s: str, i: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``s[i]`` (escaped ``\\{``/``\\}`` skipped); -1 if none."""
    depth = 0
    n = len(s)
    j = i
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def _sep_at(s: str, i: int, seps: tuple[str, ...]) -> int:
    """Length of the separator of `seps` that starts at ``s[i]``, 0 for none. A command separator
    (``\\cup``) must not run on into letters (``\\cupboard`` is no separator)."""
    for sep in seps:
        after = s[i + len(sep) : i + len(sep) + 1]
        if s.startswith(sep, i) and not (sep.startswith("\\") and after.isalpha()):
            return len(sep)
    return 0


def split_top(s: str, seps: tuple[str, ...] = (",",)) -> list[str]:
    """Split at separators outside ``{}``, ``()``, ``[]`` and ``\\{ \\}``; brackets may be unmatched
    in interval notation, so a closing bracket of either kind closes the innermost opener."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        command = c == "\\" and i + 1 < n
        if command and s[i + 1] in "{}":
            depth = depth + 1 if s[i + 1] == "{" else max(0, depth - 1)
            i += 2
            continue
        if not command and c in "{([":
            depth += 1
        elif not command and c in "})]":
            depth = max(0, depth - 1)
        elif depth == 0 and (k := _sep_at(s, i, seps)):
            parts.append(s[start:i])
            i += k
            start = i
            continue
        i += 2 if command else 1
    parts.append(s[start:])
    return parts


# Units and words dropped when they follow an answer inside \text{} or bare (lower-case compare).
_UNIT_WORDS = (
    "square units|square unit|sq units|units|unit|square feet|square inches|square meters|square centimeters|"
    "cubic feet|cubic inches|cubic meters|cubic centimeters|cubic units|sq ft|"
    "degrees|degree|deg|radians|radian|rad|cents|cent|dollars|dollar|yuan|euros|euro|"
    "inches|inch|feet|foot|ft|miles|mile|mph|meters|meter|metres|metre|centimeters|centimeter|"
    "millimeters|kilometers|km|cm|mm|m|kg|g|mg|grams|gram|kilograms|pounds|pound|lbs|lb|ounces|oz|"
    "seconds|second|sec|s|minutes|minute|min|hours|hour|hrs|hr|h|days|day|weeks|week|months|month|years|year|"
    "people|persons|students|ways|times|points|games|coins|marbles|apples|books|cookies|cars|pages|"
    "edges|faces|vertices|terms|numbers|integers|digits|letters|words|hours|liters|litres|liter|l|ml|gallons|gallon|"
    "sq|square|cubic|cm\\^2|cm\\^3|m\\^2|m\\^3|cm\\^\\{2\\}|cm\\^\\{3\\}|m\\^\\{2\\}|m\\^\\{3\\}|"
    "ft\\^2|in\\^2|units\\^2|mm\\^2|km\\^2|base ?\\d+"
)
_TEXT_UNIT = re.compile(r"\\(?:text|textnormal|mbox|mathrm|textrm|textbf|mathbf)\s*\{\s*(?:" + _UNIT_WORDS + r")\s*\.?\s*\}(\s*\^\s*\{?\d\}?)?\s*$", re.I)
_BARE_UNIT = re.compile(r"(?<=[\d}.)])\s*(?:" + _UNIT_WORDS + r")\.?(\s*\^\s*\{?\d\}?)?\s*$", re.I)
_TEXT_CMD = re.compile(r"\\(?:text|textnormal|mbox|mathrm|textrm|textbf|mathbf|textit|mathit|operatorname|mathsf|boldsymbol|bm)\s*\{")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\degree|°|\^\s*\{\s*\\text\{\s*o\s*\}\s*\}")
_SPACES = re.compile(r"(?<!\\)\\[,;:! ]|\\quad|\\qquad|\\enspace|\\thinspace|~|\\displaystyle|\\limits")
_LEFTRIGHT = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|biggl|biggr|bigg|Bigg)(?![a-zA-Z])\s*")


def strip_text_units(s: str) -> str:
    """Drop trailing unit words (``5\\text{ cm}``, ``12 inches``, ``90^\\circ``) after an answer."""
    s = _DEGREE.sub("", s).strip()
    for _ in range(3):
        t = _TEXT_UNIT.sub("", s).strip()
        if t and t != s:
            s = t
            continue
        t = _BARE_UNIT.sub("", s).strip()
        if t and t != s and re.search(r"[\d}]", t):
            s = t
            continue
        break
    return s


def _unwrap_text(s: str) -> str:
    """``\\text{abc}`` -> ``abc`` (keeps the content; units were removed before)."""
    for _ in range(20):
        m = _TEXT_CMD.search(s)
        if not m:
            return s
        j = match_brace(s, m.end() - 1)
        if j < 0:
            return s
        inner = s[m.end(): j]
        s = s[: m.start()] + inner + s[j + 1:]
    return s


_DOUBLE_ESCAPED = re.compile(
    r"(?<!\\)\\\\(?=(?:[dt]?frac|left|right|text|boxed|sqrt|pi|cdot|times|div|leq?|geq?|neq?|infty|"
    r"mathrm|mathbf|begin|end|in|cup|cap|pm|mp|circ|sin|cos|tan|log|ln|alpha|beta|theta)(?![a-zA-Z]))"
)
_TRAILING = re.compile(r"[\s.;:,]+$")
_DOLLAR_CURRENCY = re.compile(r"^\\\$\s*|^\$(?=\d)")


def normalize(s: str) -> str:
    """Canonical string for an answer: no math delimiters, no ``\\left``/``\\right``, no spacing
    commands, ``\\dfrac`` -> ``\\frac``, units/degrees dropped, ``\\text{}`` unwrapped, no spaces.

    >>> normalize("\\\\dfrac{1}{2}\\\\text{ cm}.")
    '\\\\frac{1}{2}'
    """
    s = s.strip()
    s = re.sub(r",\\!\s*", ",", s).replace("{,}", ",")
    s = re.sub(r"(?<=\d)(?:\\,|\\ | )(?=\d{3}(?!\d))", "", s)
    s = _DOUBLE_ESCAPED.sub(r"\\", s)  # "\\\\left(" from doubly escaped sources; "\\\\\\end" is a row break
    s = s.replace("\\(", "").replace("\\)", "").replace("\\[", "").replace("\\]", "")
    s = re.sub(r"(?<!\\)\$", "", s)
    s = _DOLLAR_CURRENCY.sub("", s)
    s = s.replace("\\$", "")
    s = _SPACES.sub(" ", s)
    s = _LEFTRIGHT.sub("", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = s.replace("\\le ", "\\leq ").replace("\\ge ", "\\geq ")
    s = re.sub(r"\\le(?![a-zA-Z])", r"\\leq", s)
    s = re.sub(r"\\ge(?![a-zA-Z])", r"\\geq", s)
    s = s.replace("\\leqslant", "\\leq").replace("\\geqslant", "\\geq").replace("\\lt", "<").replace("\\gt", ">")
    s = s.replace("\\neq", "\\ne").replace("!=", "\\ne").replace("<=", "\\leq").replace(">=", "\\geq")
    s = s.replace("\\%", "%").replace("\\infin", "\\infty")
    s = re.sub(r"\s*(?:\\text\{\s*)?(?:percent(?:age)?|per cent|pct)\}?\s*$", "%", s)
    s = _TRAILING.sub("", s)
    s = strip_text_units(s)
    s = _unwrap_text(s)
    s = strip_text_units(s)
    s = re.sub(r"\s+", " ", s).strip()
    # drop spaces except between two letters/commands where they separate tokens
    s = re.sub(r"\)\s*or\s*\(", "), (", s)
    s = re.sub(r"\s+(and|or)\s+", "\x01\\1\x01", s)
    s = re.sub(r",\s+", ",\x00", s)
    s = re.sub(r"(?<=[^a-zA-Z]) | (?=[^a-zA-Z])", "", s)
    s = s.replace("\x00", " ").replace("\x01", " ")
    s = _TRAILING.sub("", s)
    return s
