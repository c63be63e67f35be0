"""Gold preparation, the comparison ladder and the public `verify` / `verify_batch` API.

Ladder for two scalars: equal normalized strings -> written numbers (`numbers`) -> exact rational
arithmetic with size budgets (`expr.evaluate_exact`) -> high-precision numeric probing at fixed
random points (`numeric.evaluate_numeric`, mpmath, 50 digits) -> sympy + math-verify (`symbolic`),
the last only for leaves our parser cannot read. Everything before the last rung is pure Python
and bounded; the last rung runs inline only when the caller is already in a pool worker
(`deadline=None`, as the `math` Reward is) or else in the shared pool under `deadline`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import mpmath

from verifiers.math import expr as E
from verifiers.math import numeric as N
from verifiers.math.extract import MAX_ANSWER_CHARS, extract_answer
from verifiers.math.normalize import normalize
from verifiers.math.numbers import Number, numbers_equal, parse_number
from verifiers.math.structures import Leaf, Rel, Seq, compare, has_brace_balance, parse_answer

__all__ = ["MathResult", "NeedsSymbolic", "clean_gold", "prepare_gold", "verify", "verify_batch"]

REL_TOL = mpmath.mpf(10) ** -30
ZERO_TOL = mpmath.mpf(10) ** -45


@dataclass(frozen=True, slots=True)
class MathResult:
    """The verdict on one (gold, completion) pair."""

    score: float | None
    """1.0 correct, 0.0 wrong, None when we cannot judge (gold_invalid, timeout)."""
    reason: str
    """``ok``, ``mismatch``, ``no_answer``, ``hedge``, ``too_long``, ``too_large``, ``parse_error``,
    ``gold_invalid``, ``timeout``."""
    extracted: str | None = None
    """The answer found in the completion."""
    gold: str | None = None
    """The normalized gold (the first acceptable one)."""
    info: dict[str, Any] = field(default_factory=dict)


class NeedsSymbolic(Exception):
    """A leaf pair needs the symbolic step, which this call may not run inline."""


@dataclass(frozen=True, slots=True)
class PreparedGold:
    """A gold after hygiene: its normalized string and answer tree, or why it cannot be judged."""

    raw: str
    norm: str
    tree: object
    invalid: str | None = None


# -- gold hygiene ------------------------------------------------------------------------------
_GOLD_TRAILER = re.compile(r"(?:solution|answer)\s*:?\s*$", re.I)


def clean_gold(gold: str) -> str:
    """Gold hygiene before parsing: strip surrounding space, a trailing ``solution:``/``answer:``
    label (a scraping artefact in gaokao2023en) and an outer ``\\boxed{}``."""
    g = _GOLD_TRAILER.sub("", str(gold).strip())
    return re.sub(r"^\\boxed\{(.*)\}$", r"\1", g, flags=re.S)


@lru_cache(maxsize=8192)
def prepare_gold(gold: str) -> PreparedGold:
    """Hygiene + parse, once per gold string (GRPO scores many samples per gold)."""
    g = clean_gold(gold)
    if not has_brace_balance(g):
        return PreparedGold(gold, g, None, "unbalanced braces")
    norm = normalize(g)
    if not norm:
        return PreparedGold(gold, norm, None, "empty gold")
    if len(norm) > MAX_ANSWER_CHARS:
        return PreparedGold(gold, norm, None, "gold too long")
    tree = parse_answer(norm)
    try:
        if not compare(tree, tree, _self_leaf, _rel_equal):
            return PreparedGold(gold, norm, tree, "gold is not equal to itself")
    except NeedsSymbolic:
        pass
    return PreparedGold(gold, norm, tree)


def _self_leaf(a: str, b: str) -> bool:
    value = _value(a)
    if value[0] == "ast" and value[2] is None and not value[3]:
        return _probe(value[1], value[1]) is not False
    return True


# -- leaves ------------------------------------------------------------------------------------
@lru_cache(maxsize=32768)
def _value(s: str) -> tuple[Any, ...]:
    """("num", Number) | ("ast", node, exact Fraction | None, too_large) | ("bad", why)."""
    number = parse_number(s)
    if number is not None:
        return ("num", number)
    body, percent = (s[:-1], True) if s.endswith("%") else (s, False)
    try:
        node = E.parse_expr_latex(body)
    except E.TooLarge:
        return ("ast", None, None, True)
    except E.ParseError as exc:
        return ("bad", str(exc))
    if percent:
        node = ("div", node, ("num", Fraction(100)))
    try:
        return ("ast", node, E.evaluate_exact(node), False)
    except E.NotExact:
        return ("ast", node, None, False)
    except E.TooLarge:
        return ("ast", node, None, True)


def _close(a: Any, b: Any) -> bool:
    if a == b:
        return True
    scale = max(abs(a), abs(b))
    return bool(abs(a - b) <= REL_TOL * scale or scale <= ZERO_TOL)


def _eval(node: Any, env: dict[str, Any]) -> Any:
    try:
        v = N.evaluate_numeric(node, env)
    except (ZeroDivisionError, ValueError, ArithmeticError, TypeError):
        return None
    if not mpmath.isfinite(v) if not isinstance(v, mpmath.mpc) else not (mpmath.isfinite(v.real) and mpmath.isfinite(v.imag)):
        return None
    return v


def _probe(g: Any, p: Any, *, ratio: str | None = None) -> bool | None:
    """Numeric identity test at fixed points; `ratio` ("nonzero"/"positive"): equal up to a factor."""
    names = sorted(E.symbols(g) | E.symbols(p))
    points = N.probe_points(names) if names else [{}]
    valid = 0
    factor = None
    with mpmath.workdps(N.DPS):
        for env in points:
            try:
                a, b = _eval(g, env), _eval(p, env)
            except E.TooLarge:
                return False
            if a is None and b is None:
                continue
            if a is None or b is None:
                return False
            valid += 1
            if ratio is None:
                if not _close(a, b):
                    return False
                continue
            if abs(a) <= ZERO_TOL:
                if abs(b) > ZERO_TOL:
                    return False
                continue
            r = b / a
            if factor is None:
                if abs(r) <= ZERO_TOL or (ratio == "positive" and (isinstance(r, mpmath.mpc) or r < 0)):
                    return False
                factor = r
            elif not _close(r, factor):
                return False
    if valid == 0 or (names and valid < 2):
        return None
    return True if ratio is None or factor is not None else None


def _approx(number: Number, node: Any) -> bool:
    """A written decimal against an exact irrational value."""
    with mpmath.workdps(N.DPS):
        v = _eval(node, {})
        if v is None or isinstance(v, mpmath.mpc):
            return False
        x = mpmath.mpf(number.value.numerator) / number.value.denominator
        ulp = mpmath.mpf(number.ulp.numerator) / number.ulp.denominator  # type: ignore[union-attr]
        return bool(abs(x - v) * 2 <= ulp)


class _Leaves:
    """Leaf and relation comparators for one call; `symbolic` says whether sympy may run here."""

    def __init__(self, symbolic: bool) -> None:
        self.symbolic = symbolic
        self.used_symbolic = False
        self.too_large = False

    def leaf(self, g: str, p: str) -> bool:
        if g == p:
            return True
        gv, pv = _value(g), _value(p)
        if gv[0] == "bad" or pv[0] == "bad":
            return self._symbolic(g, p)
        if (gv[0] == "ast" and gv[3]) or (pv[0] == "ast" and pv[3]):
            self.too_large = True
            return False
        gn = gv[1] if gv[0] == "num" else (Number(gv[2], None) if gv[2] is not None else None)
        pn = pv[1] if pv[0] == "num" else (Number(pv[2], None) if pv[2] is not None else None)
        if gn is not None and pn is not None:
            return numbers_equal(gn, pn)
        if gn is not None and gn.ulp is not None and pv[0] == "ast" and not E.symbols(pv[1]):
            return _approx(gn, pv[1])  # gold 0.866, prediction \frac{\sqrt3}{2}
        if pn is not None and pn.ulp is not None and gv[0] == "ast":
            if E.symbols(gv[1]) or pn.sig < 3:
                return False
            return _approx(Number(pn.value, pn.ulp * 2), gv[1])  # rounded or truncated
        gnode = gv[1] if gv[0] == "ast" else ("num", gn.value)  # type: ignore[union-attr]
        pnode = pv[1] if pv[0] == "ast" else ("num", pn.value)  # type: ignore[union-attr]
        verdict = _probe(gnode, pnode)
        if verdict is False and (N.has_opaque(gnode) or N.has_opaque(pnode)):
            verdict = None  # a sum with symbolic limits may still equal a closed form: ask sympy
        if verdict is None:
            return self._symbolic(g, p)
        return verdict

    def _symbolic(self, g: str, p: str) -> bool:
        if not self.symbolic:
            raise NeedsSymbolic(g, p)
        from verifiers.math.symbolic import symbolic_equal

        self.used_symbolic = True
        return bool(symbolic_equal(g, p))

    def rel(self, g: Rel, p: Rel) -> bool:
        return _rel_equal(g, p, self)


def _rel_equal(g: Rel, p: Rel, leaves: _Leaves | None = None) -> bool:
    if g == p:
        return True
    if g.op != p.op:
        return False
    if g.name_lhs and p.name_lhs and re.sub(r"\s", "", g.lhs) == re.sub(r"\s", "", p.lhs):
        if leaves is None:
            return True
        return compare(parse_answer(g.rhs, depth=1), parse_answer(p.rhs, depth=1), leaves.leaf, leaves.rel)
    try:
        gd = ("add", (E.parse_expr_latex(g.lhs), ("neg", E.parse_expr_latex(g.rhs))))
        pd = ("add", (E.parse_expr_latex(p.lhs), ("neg", E.parse_expr_latex(p.rhs))))
    except (E.ParseError, E.TooLarge):
        return re.sub(r"\s", "", g.lhs + g.rhs) == re.sub(r"\s", "", p.lhs + p.rhs)
    if not (E.symbols(gd) or E.symbols(pd)):
        return False
    verdict = _probe(gd, pd, ratio="nonzero" if g.op in ("=", "\\ne") else "positive")
    return bool(verdict)


# -- public API --------------------------------------------------------------------------------
def _golds(gold: str | Sequence[str]) -> list[str]:
    if isinstance(gold, (list, tuple)):
        return [str(g) for g in gold]
    return [str(gold)]


def verify(
    gold: str | Sequence[str],
    completion: str,
    *,
    mode: str = "strict",
    deadline: float | None = None,
    max_answer_chars: int = MAX_ANSWER_CHARS,
) -> MathResult:
    """Judge `completion` against `gold` (or a list of acceptable golds).

    Args:
        gold: the reference answer(s), LaTeX or plain.
        completion: the model's text.
        mode: ``strict`` (RL: boxed / tag / anchored answers only) or ``lenient`` (evaluation).
        deadline: seconds for the symbolic step. None runs it inline (right inside a pool worker,
            e.g. the `math` Reward; unprotected elsewhere). A number sends it, when needed, to the
            shared `verifiers.pool.get_pool()`; the fast path always runs here and is pure.
        max_answer_chars: longer extracted answers score 0 (``too_long``).

    Returns:
        A `MathResult` with score, reason, extracted answer and normalized gold.

    >>> verify("\\\\frac{1}{2}", "so the answer is $\\\\boxed{0.5}$").score
    1.0
    """
    try:
        return _verify(gold, completion, mode, symbolic=deadline is None, max_chars=max_answer_chars)
    except NeedsSymbolic:
        pass
    from verifiers.errors import PoolError, TaskTimeout
    from verifiers.pool import get_pool

    future = get_pool().submit(_verify_task, gold, completion, mode, max_answer_chars, deadline=deadline)
    try:
        return future.result()  # type: ignore[no-any-return]
    except TaskTimeout:
        return MathResult(None, "timeout", info={"deadline": deadline})
    except PoolError as exc:
        return MathResult(None, "worker_crashed", info={"error": str(exc)[:200]})


def _verify_task(gold: str | Sequence[str], completion: str, mode: str, max_chars: int) -> MathResult:
    """Pool task: the whole verification with the symbolic step allowed (the pool is the deadline)."""
    return _verify(gold, completion, mode, symbolic=True, max_chars=max_chars)


def _verify(gold: str | Sequence[str], completion: str, mode: str, *, symbolic: bool, max_chars: int) -> MathResult:
    if not isinstance(completion, str):
        raise TypeError(f"completion must be a string, got {type(completion).__name__}")
    prepared = [prepare_gold(g) for g in _golds(gold)]
    valid = [p for p in prepared if p.invalid is None]
    if not valid:
        why = prepared[0].invalid if prepared else "no gold"
        return MathResult(None, "gold_invalid", None, prepared[0].norm if prepared else None, {"why": why})
    found = extract_answer(completion, mode=mode, max_chars=max_chars)
    norm_gold = valid[0].norm
    if found.answer is None:
        return MathResult(0.0, found.reason, None, norm_gold)
    leaves = _Leaves(symbolic)
    pred_norm = normalize(found.answer)
    if not pred_norm:
        return MathResult(0.0, "no_answer", found.answer, norm_gold)
    pred = parse_answer(pred_norm)
    for g in valid:
        if compare(g.tree, pred, leaves.leaf, leaves.rel):
            return MathResult(1.0, "ok", found.answer, g.norm, _info(found.source, leaves))
    if len(found.parts) > 1:
        distinct = {normalize(p) for p in found.parts}
        if len(distinct) > 1:
            return MathResult(0.0, "hedge", found.answer, norm_gold, {"boxes": list(found.parts)[:8]})
        last = parse_answer(normalize(found.parts[-1]))
        if any(compare(g.tree, last, leaves.leaf, leaves.rel) for g in valid):
            return MathResult(1.0, "ok", found.parts[-1], norm_gold, _info(found.source, leaves))
    reason = "too_large" if leaves.too_large else "mismatch"
    return MathResult(0.0, reason, found.answer, norm_gold, _info(found.source, leaves))


def _info(source: str, leaves: _Leaves) -> dict[str, Any]:
    return {"source": source, "symbolic": leaves.used_symbolic}


def verify_batch(
    pairs: Iterable[tuple[str | Sequence[str], str]],
    *,
    mode: str = "strict",
    deadline: float | None = None,
    max_answer_chars: int = MAX_ANSWER_CHARS,
) -> list[MathResult]:
    """`verify` over ``(gold, completion)`` pairs, in order. The fast path runs here; pairs that
    need the symbolic step go to the shared pool together (when `deadline` is set) and run in parallel."""
    items = list(pairs)
    out: list[MathResult | None] = [None] * len(items)
    pending = []
    for k, (gold, completion) in enumerate(items):
        try:
            out[k] = _verify(gold, completion, mode, symbolic=deadline is None, max_chars=max_answer_chars)
        except NeedsSymbolic:
            pending.append(k)
    if pending:
        from verifiers.errors import PoolError, TaskTimeout
        from verifiers.pool import get_pool

        pool = get_pool()
        futures = {k: pool.submit(_verify_task, items[k][0], items[k][1], mode, max_answer_chars, deadline=deadline)
                   for k in pending}
        for k, fut in futures.items():
            try:
                out[k] = fut.result()
            except TaskTimeout:
                out[k] = MathResult(None, "timeout", info={"deadline": deadline})
            except PoolError as exc:
                out[k] = MathResult(None, "worker_crashed", info={"error": str(exc)[:200]})
    return [r for r in out if r is not None]


_ = Seq, Leaf
