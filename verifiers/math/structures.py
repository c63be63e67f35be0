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

__all__ = ["Chain", "Choice", "Interval", "Leaf", "Matrix", "Rel", "Seq", "Text", "Union", "compare", "parse_answer"]

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


@dataclass(frozen=True, slots=True)
class Chain:
    """``a < f(x) \\leq b`` with ``f(x)`` not a bare name: the set of reals x satisfying it."""

    exprs: tuple[str, ...]
    ops: tuple[str, ...]
    """``<`` or ``\\leq``, read left to right."""


_REL_SPLIT = re.compile(r"\\leq|\\geq|\\ne|\\approx|=|<|>")
_FLIP = {">": "<", "\\geq": "\\leq"}
_CHOICE = re.compile(r"^\(?([A-Z])\)?$")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z '\-.]*[A-Za-z.]$")
_MATRIX = re.compile(r"^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^}]*\})?(.*)\\end\{\1\}$", re.S)


def _is_name(s: str) -> bool:
    t = re.sub(r"_\{[^{}]*\}|_.", "", s)
    t = re.sub(r"\\(?:max|min|text|mathrm)\b", "", t)
    return bool(t) and not re.search(r"[0-9+\-^]", t) and bool(re.search(r"[A-Za-z]", t))


def _is_computation(s: str) -> bool:
    """Digits and no variables (``2+3``): the all-constant chain ``2+3=5`` states ``5``."""
    t = re.sub(r"\\[a-zA-Z]+", "", s)
    return bool(re.search(r"\d", t)) and not re.search(r"[A-Za-z]", t)


def _strip_outer(s: str, left: str, right: str) -> str | None:
    if s.startswith(left) and s.endswith(right):
        inner = s[len(left): len(s) - len(right)]
        depth = 0
        for c in inner:  # the outer pair must enclose everything
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
    groups = [g for g in split_top(s, (";",)) if g.strip()]
    if len(groups) > 1 and any(len(split_top(g, (",",))) > 1 for g in groups):
        # "p=5,q=2;p=7,q=2": semicolons separate solutions, commas the parts of one solution
        return Seq("list", tuple(parse_answer(g, depth=depth + 1) for g in groups[:MAX_ITEMS]))
    parts = [p.strip() for p in split_top(s, (";", ",", "\\text{and}", " and ", " or ", "\\text{or}", "\\quad")) if p.strip()]
    parts = list({re.sub(r"\s", "", q): q for q in (strip_text_units(p) for p in parts if p not in ("and", "or"))}.values())
    if len(parts) > 1 and not _plain_pair(s):
        items = tuple(parse_answer(p, depth=depth + 1) for p in parts[:MAX_ITEMS])
        return Seq("list", items)
    if "\\cup" in s:
        units = [p for p in split_top(s, ("\\cup",)) if p.strip()]
        if len(units) > 1:
            return Union(tuple(parse_answer(u, depth=depth + 1) for u in units[:MAX_ITEMS]))
    if s.count("\\begin{") > 1 or (s.count("\\begin{") == 1 and not _MATRIX.match(s)):
        product = _matrix_expr(s)
        if product is not None:
            return product
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


_MATRIX_ANY = re.compile(r"\\begin\{([pbvB]?matrix)\}(.*?)\\end\{\1\}", re.S)


def _matrix_expr(s: str) -> Matrix | None:
    """Sums, differences, products and scalar multiples of literal matrices, e.g.
    ``A + B``, ``A B``, ``2 A \\cdot B``, as one matrix of cell expressions (``(1)+(5)``); None when
    `s` is anything else or the shapes do not fit."""
    mats: list[list[list[str]]] = []

    def hold(m: re.Match[str]) -> str:
        rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        mats.append([[c.strip() for c in r.split("&")] for r in rows[:MAX_ITEMS]])
        return f"\x00{len(mats) - 1}\x00"

    skeleton = _MATRIX_ANY.sub(hold, s)
    if not mats or len(skeleton) > 200:
        return None
    total: list[list[str]] | None = None
    for sign, term in _signed_terms(skeleton):
        pieces = re.split(r"\x00(\d+)\x00", term)
        scalars = [sign] + [re.sub(r"\\cdot|\\times|\s", "", x) for x in pieces[0::2]]
        scalar = "".join(f"({x})" for x in scalars if x)
        if re.search(r"[=<>,;&]", scalar):
            return None
        value: list[list[str]] | None = None
        for k in pieces[1::2]:
            value = mats[int(k)] if value is None else _mat_mul(value, mats[int(k)])
            if value is None:
                return None
        if value is None:
            return None
        value = [[f"{scalar}({c})" for c in row] for row in value]
        total = value if total is None else _mat_add(total, value)
        if total is None:
            return None
    return Matrix(tuple(tuple(Leaf(c) for c in row) for row in total)) if total else None


def _signed_terms(s: str) -> list[tuple[str, str]]:
    """Top-level ``+``/``-`` terms with their sign (``""`` or ``"-1"``)."""
    out, depth, start, sign = [], 0, 0, ""
    for k, c in enumerate(s):
        depth += c in "{([" and 1 or c in "})]" and -1 or 0
        if depth == 0 and c in "+-" and k > 0:
            out.append((sign, s[start:k]))
            sign, start = ("-1" if c == "-" else ""), k + 1
    if s.startswith("-"):
        out.append(("-1" if not out else sign, s[1:] if not out else s[start:]))
    else:
        out.append((sign, s[start:]))
    return out


def _mat_mul(a: list[list[str]], b: list[list[str]]) -> list[list[str]] | None:
    if not a or not b or any(len(r) != len(b) for r in a) or len({len(r) for r in b}) != 1:
        return None
    return [["+".join(f"({a[i][k]})({b[k][j]})" for k in range(len(b))) for j in range(len(b[0]))]
            for i in range(len(a))]


def _mat_add(a: list[list[str]], b: list[list[str]]) -> list[list[str]] | None:
    if len(a) != len(b) or any(len(x) != len(y) for x, y in zip(a, b)):
        return None
    return [[f"{x}+{y}" for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]


def _plain_pair(s: str) -> bool:
    """``1,000`` style thousands are not lists (already handled by parse_number)."""
    return bool(re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?", s))


def _split_relations(s: str) -> tuple[list[str], list[str]]:
    """Split at relation signs outside braces (``\\sum_{k=1}`` holds no relation)."""
    depth, level = 0, []
    for c in s:
        depth += 1 if c == "{" else -1 if c == "}" else 0
        level.append(depth)
    pieces, ops, start = [], [], 0
    for m in _REL_SPLIT.finditer(s):
        if level[m.start()] == 0:
            pieces.append(s[start: m.start()])
            ops.append(m.group())
            start = m.end()
    pieces.append(s[start:])
    return pieces, ops


def _relation(s: str) -> Rel | None:
    s = s.split("\\approx")[0] if not s.startswith("\\approx") else s
    pieces, ops = _split_relations(s)
    if not ops or any(not p.strip() for p in pieces):
        return None
    if all(o in ("=", "\\approx") for o in ops):
        lhs, rhs = pieces[0].strip(), pieces[-1].strip()
        # "x=1+1=2", "\\frac{1}{2}\\$=\\frac{10}{9}", "1=\\zzz=x=0": the chain states its last right-hand side
        named = any(_is_name(q.strip()) for q in pieces[:-1]) or all(_is_computation(q.strip()) for q in pieces)
        return Rel("=", lhs, rhs, named)
    if len(ops) == 1:
        op, lhs, rhs = ops[0], pieces[0].strip(), pieces[1].strip()
        if op in _FLIP:
            op, lhs, rhs = _FLIP[op], rhs, lhs
        return Rel(op, lhs, rhs, False)
    if len(ops) == 2 and (all(o in ("<", "\\leq") for o in ops) or all(o in (">", "\\geq") for o in ops)):
        # a < x < b as an interval on x (gold style "-793 < a < 10")
        if ops[0] in (">", "\\geq"):
            pieces, ops = pieces[::-1], [_FLIP[o] for o in ops[::-1]]
        if not _is_name(pieces[1].strip()) or "|" in pieces[1]:  # 1 \\leq |z| \\leq 2: a condition on z, not an interval
            return Chain(tuple(p.strip() for p in pieces), tuple(ops))
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
    named_g, named_p = _named_values(gold), _named_values(pred)
    if (named_g is None) != (named_p is None):  # "p=5,q=2" states the pair "(5,2)"
        values, other = (named_g, pred) if named_g is not None else (named_p, gold)
        tup = other.items if isinstance(other, Seq) and other.kind == "tuple" else (
            (other.lo, other.hi) if isinstance(other, Interval) and (other.left, other.right) == ("(", ")") else None)
        if tup is not None and values is not None and len(tup) == len(values):
            pairs = zip(values, tup) if named_g is not None else zip(tup, values)
            return all(compare(g, p, leaf, rel) for g, p in pairs)
    if isinstance(gold, Chain) or isinstance(pred, Chain):
        if isinstance(gold, Chain) and isinstance(pred, Chain):
            return gold.ops == pred.ops and all(leaf(a, b) for a, b in zip(gold.exprs, pred.exprs))
        from verifiers.math.sets import same_real_set

        return same_real_set(gold, pred)
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


def _named_values(node: object) -> tuple[object, ...] | None:
    """``x=1, y=2`` (distinct names, in order) -> the values ``(1, 2)``; else None."""
    if not (isinstance(node, Seq) and node.kind == "list" and len(node.items) > 1):
        return None
    items = node.items
    if not all(isinstance(r, Rel) and r.op == "=" and _is_name(r.lhs) for r in items):
        return None
    if len({r.lhs for r in items}) != len(items):  # type: ignore[attr-defined]
        return None
    return tuple(parse_answer(r.rhs, depth=1) for r in items)  # type: ignore[attr-defined]


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
