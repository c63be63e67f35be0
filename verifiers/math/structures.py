"""Typed answers: scalars, lists, sets, tuples, intervals, unions, matrices, relations, text, choices.

`parse_answer` turns a normalized answer string into a small tree; `compare` walks two trees and
asks a leaf comparator (numbers and expressions, see `verifiers.math.grader`) about scalar pairs.

Rules (gold first, prediction second; deliberately asymmetric where noted):
* ``{a,b}`` sets and bare lists ``a, b`` / ``a and b`` / ``a or b`` are order-free multisets;
* ``(a,b,c)`` tuples are ordered; a two-element ``(a,b)``/``[a,b)`` is an interval or a pair:
  same brackets (openness) and same endpoints in order;
* ``\\cup`` unions are order-free; matrices compare elementwise with the same shape;
* ``x=3`` and ``3`` match either way when the left side is a name (``x``, ``f(x)``, ``(p,q)``, ``|AB|``);
  a chain ``x=1+1=2`` keeps its last right-hand side; two equations match up to a nonzero factor;
* inequalities match up to a positive factor (``x\\geq5`` is ``5\\leq x``);
* ``a\\pm b`` is the list ``a+b, a-b``; a single capital letter gold is a multiple-choice letter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from verifiers.math.normalize import match_brace, split_top, strip_text_units

__all__ = ["Choice", "Interval", "Leaf", "Matrix", "Rel", "Seq", "Text", "Union", "compare", "parse_answer"]

MAX_ITEMS = 64


@dataclass(frozen=True, slots=True)
class Leaf:
    """A scalar: number or expression, as its normalized LaTeX."""

    text: str


@dataclass(frozen=True, slots=True)
class Text:
    """Words (``\\text{Evelyn}``, ``odd``): compared case-insensitively without spaces."""

    text: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A multiple-choice letter."""

    letter: str


@dataclass(frozen=True, slots=True)
class Seq:
    """``kind`` is ``set`` / ``list`` (order-free) or ``tuple`` (ordered)."""

    kind: str
    items: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Interval:
    """Two endpoints with their brackets; also a pair ``(a, b)`` when round on both sides."""

    left: str
    right: str
    lo: object
    hi: object


@dataclass(frozen=True, slots=True)
class Union:
    """``A \\cup B \\cup ...`` (order-free)."""

    items: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Matrix:
    """Rows of cells."""

    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True, slots=True)
class Rel:
    """``lhs op rhs`` with op one of ``= < \\leq \\ne``; ``>`` and ``\\geq`` are stored flipped."""

    op: str
    lhs: str
    rhs: str
    name_lhs: bool
    """The left side names what is asked (``x``, ``f(x)``, ``(p,q)``), so ``x=3`` may stand for ``3``."""


_REL_SPLIT = re.compile(r"\\leq|\\geq|\\ne|\\approx|=|<|>")
_FLIP = {">": "<", "\\geq": "\\leq"}
_CHOICE = re.compile(r"^\(?([A-Z])\)?$")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z '\-.]*[A-Za-z.]$")
_MATRIX = re.compile(r"^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{\1\}$", re.S)


def _is_name(s: str) -> bool:
    t = re.sub(r"_\{[^{}]*\}|_.", "", s)
    t = re.sub(r"\\(?:max|min|text|mathrm)\b", "", t)
    return bool(t) and not re.search(r"[0-9+\-^]", t) and bool(re.search(r"[A-Za-z]", t))


def _strip_outer(s: str, left: str, right: str) -> str | None:
    if s.startswith(left) and s.endswith(right):
        inner = s[len(left): len(s) - len(right)]
        depth = 0
        for k, c in enumerate(inner):  # the outer pair must enclose everything
            if c in "{([":
                depth += 1
            elif c in "})]":
                depth -= 1
                if depth < 0:
                    return None
        return inner
    return None


def parse_answer(s: str, *, depth: int = 0) -> object:
    """Tree of a normalized answer string (see module docstring for the shapes)."""
    s = s.strip()
    if depth > 8:
        return Leaf(s)
    s = re.sub(r"^(?:[A-Za-z](?:_\{?\w+\}?)?\\in|\\therefore)", "", s).strip()
    parts = [p.strip() for p in split_top(s, (";", ",", "\\text{and}", " and ", " or ", "\\text{or}", "\\quad")) if p.strip()]
    parts = list({re.sub(r"\s", "", q): q for q in (strip_text_units(p) for p in parts if p not in ("and", "or"))}.values())
    if len(parts) > 1 and not _plain_pair(s):
        items = tuple(parse_answer(p, depth=depth + 1) for p in parts[:MAX_ITEMS])
        return Seq("list", items)
    if "\\cup" in s:
        units = [p for p in split_top(s, ("\\cup",)) if p.strip()]
        if len(units) > 1:
            return Union(tuple(parse_answer(u, depth=depth + 1) for u in units[:MAX_ITEMS]))
    m = _MATRIX.match(s)
    if m:
        rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        return Matrix(tuple(tuple(parse_answer(c.strip(), depth=depth + 1) for c in r.split("&")) for r in rows[:MAX_ITEMS]))
    for left, right in (("(", ")"), ("[", "]")):
        inner = _strip_outer(s, left, right)
        if inner is not None and _MATRIX.match(inner.strip()):
            s = inner.strip()
            m = _MATRIX.match(s)
            rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]  # type: ignore[union-attr]
            return Matrix(tuple(tuple(parse_answer(c.strip(), depth=depth + 1) for c in r.split("&")) for r in rows[:MAX_ITEMS]))
    inner = _strip_outer(s, "\\{", "\\}")
    if inner is None and s.startswith("{") and "," in s:
        inner = _strip_outer(s, "{", "}")
    if inner is not None and "|" not in inner and "\\mid" not in inner:
        items = list(dict.fromkeys(strip_text_units(p.strip()) for p in split_top(inner, (",", ";")) if p.strip()))
        return Seq("set", tuple(parse_answer(p, depth=depth + 1) for p in items[:MAX_ITEMS]))
    for left, right in (("(", ")"), ("[", "]"), ("(", "]"), ("[", ")")):
        inner = _strip_outer(s, left, right)
        if inner is None:
            continue
        items = [p.strip() for p in split_top(inner, (",", ";"))]
        if len(items) == 2:
            return Interval(left, right, parse_answer(items[0], depth=depth + 1), parse_answer(items[1], depth=depth + 1))
        if len(items) > 2 and left == "(" and right == ")":
            return Seq("tuple", tuple(parse_answer(p, depth=depth + 1) for p in items[:MAX_ITEMS]))
        break
    rel = _relation(s)
    if rel is not None:
        return rel
    if "\\pm" in s and s.count("\\pm") == 1:
        a, b = s.split("\\pm")
        return Seq("list", (Leaf(f"{a}+{b}" if a else b), Leaf(f"{a}-{b}" if a else f"-{b}")))
    m = _CHOICE.match(s)
    if m:
        return Choice(m.group(1))
    if _WORDS.match(s) and len(s) > 1 and (" " in s or len(s) > 3) and "\\" not in s:
        return Text(s)
    return Leaf(s)


def _plain_pair(s: str) -> bool:
    """``1,000`` style thousands are not lists (already handled by parse_number)."""
    return bool(re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?", s))


def _relation(s: str) -> Rel | None:
    s = s.split("\\approx")[0] if not s.startswith("\\approx") else s
    pieces = _REL_SPLIT.split(s)
    ops = _REL_SPLIT.findall(s)
    if not ops or any(not p.strip() for p in pieces):
        return None
    if all(o in ("=", "\\approx") for o in ops):
        lhs, rhs = pieces[0].strip(), pieces[-1].strip()
        return Rel("=", lhs, rhs, _is_name(lhs))
    if len(ops) == 1:
        op, lhs, rhs = ops[0], pieces[0].strip(), pieces[1].strip()
        if op in _FLIP:
            op, lhs, rhs = _FLIP[op], rhs, lhs
        return Rel(op, lhs, rhs, False)
    if len(ops) == 2 and len(pieces) == 3 and all(o in ("<", "\\leq") for o in ops) or all(o in (">", "\\geq") for o in ops):
        # a < x < b as an interval on x (gold style "-793 < a < 10")
        if ops[0] in (">", "\\geq"):
            pieces, ops = pieces[::-1], [_FLIP[o] for o in ops[::-1]]
        return Interval("(" if ops[0] == "<" else "[", ")" if ops[1] == "<" else "]",
                        parse_answer(pieces[0].strip(), depth=1), parse_answer(pieces[2].strip(), depth=1))
    return None


# -- comparison --------------------------------------------------------------------------------
LeafCmp = Callable[[str, str], bool]
RelCmp = Callable[[Rel, Rel], bool]


def _text_key(s: str) -> str:
    return re.sub(r"[\s{}\\]|text", "", s).lower()


def _as_text(node: object) -> str | None:
    if isinstance(node, Text):
        return node.text
    if isinstance(node, Leaf):
        return node.text
    if isinstance(node, Choice):
        return node.letter
    return None


def compare(gold: object, pred: object, leaf: LeafCmp, rel: RelCmp) -> bool:
    """Whether `pred` states `gold`. `leaf` compares two scalar strings, `rel` two relations."""
    if isinstance(gold, Choice):
        if isinstance(pred, Choice):
            return pred.letter == gold.letter
        t = _as_text(pred)
        return t is not None and bool(re.match(rf"^\(?{gold.letter}\)?(?:[.:)]|\s|$)", t.strip()))
    if isinstance(gold, Text):
        t = _as_text(pred)
        return t is not None and _text_key(t) == _text_key(gold.text)
    if isinstance(gold, Rel) and gold.op == "=" and gold.name_lhs and not isinstance(pred, Rel):
        return compare(parse_answer(gold.rhs, depth=1), pred, leaf, rel)
    if isinstance(pred, Rel) and pred.op == "=" and pred.name_lhs and not isinstance(gold, Rel):
        return compare(gold, parse_answer(pred.rhs, depth=1), leaf, rel)
    if isinstance(gold, Seq) and gold.kind in ("set", "list"):
        items = pred.items if isinstance(pred, Seq) and pred.kind in ("set", "list") else (pred,)
        return _match_all(gold.items, items, leaf, rel)
    if isinstance(pred, Seq) and pred.kind in ("set", "list") and len(pred.items) == 1:
        return compare(gold, pred.items[0], leaf, rel)
    if isinstance(gold, Seq):  # tuple
        if isinstance(pred, Interval) and len(gold.items) == 2 and (pred.left, pred.right) == ("(", ")"):
            return compare(gold.items[0], pred.lo, leaf, rel) and compare(gold.items[1], pred.hi, leaf, rel)
        return (isinstance(pred, Seq) and pred.kind == "tuple" and len(pred.items) == len(gold.items)
                and all(compare(g, p, leaf, rel) for g, p in zip(gold.items, pred.items)))
    if isinstance(gold, Interval):
        return (isinstance(pred, Interval) and (pred.left, pred.right) == (gold.left, gold.right)
                and compare(gold.lo, pred.lo, leaf, rel) and compare(gold.hi, pred.hi, leaf, rel))
    if isinstance(gold, Union):
        return isinstance(pred, Union) and _match_all(gold.items, pred.items, leaf, rel)
    if isinstance(gold, Matrix):
        return (isinstance(pred, Matrix) and len(pred.rows) == len(gold.rows)
                and all(len(g) == len(p) and all(compare(a, b, leaf, rel) for a, b in zip(g, p))
                        for g, p in zip(gold.rows, pred.rows)))
    if isinstance(gold, Rel):
        return isinstance(pred, Rel) and rel(gold, pred)
    if isinstance(gold, Leaf):
        if isinstance(pred, Leaf):
            return leaf(gold.text, pred.text)
        if isinstance(pred, (Text, Choice)):
            t = _as_text(pred)
            return t is not None and _text_key(t) == _text_key(gold.text)
        return False
    return False


def _match_all(golds: tuple[object, ...], preds: tuple[object, ...], leaf: LeafCmp, rel: RelCmp) -> bool:
    """A perfect matching between two multisets (greedy is exact here: equality is transitive)."""
    if len(golds) != len(preds):
        return False
    left = list(preds)
    for g in golds:
        for k, p in enumerate(left):
            if compare(g, p, leaf, rel):
                del left[k]
                break
        else:
            return False
    return True


def has_brace_balance(s: str) -> bool:
    """True when every ``{`` closes (escaped braces ignored)."""
    depth = 0
    i = 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(s[i], 0)
        if depth < 0:
            return False
        i += 1
    return depth == 0


_ = match_brace
