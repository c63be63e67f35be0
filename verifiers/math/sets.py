"""Sets of reals: a condition on one variable (``1\\leq|z|\\leq\\frac{3}{2}``) against intervals.

`same_real_set` decides whether a `Chain` and an `Interval` / `Union` of intervals describe the same
subset of the real line by testing membership at every finite endpoint, just beside it on both sides
(1e-20 relative), between consecutive endpoints, beyond the extremes and on a fixed grid. Sound for
conditions whose boundary points are endpoints of the interval side (the usual answer shape); a
condition with a hole no test point falls in would be missed, so the grid is dense near the origin.
"""

from __future__ import annotations

from typing import Any

import mpmath

from verifiers.math import expr as E
from verifiers.math import numeric as N
from verifiers.math.structures import Chain, Interval, Leaf, Union

__all__ = ["same_real_set"]

_TOL = mpmath.mpf(10) ** -35
_GRID = [mpmath.mpf(k) / 8 + mpmath.mpf(1) / 97 for k in range(-160, 161)]


def _const(node: object) -> Any:
    if not isinstance(node, Leaf):
        raise E.ParseError("endpoint is not a scalar")
    tree = E.parse_expr_latex(node.text)
    if E.symbols(tree):
        raise E.ParseError("endpoint has a variable")
    value = N.evaluate_numeric(tree, {})
    if isinstance(value, mpmath.mpc):
        raise E.ParseError("complex endpoint")
    return value


def _intervals(node: object) -> list[tuple[str, Any, Any, str]]:
    parts = node.items if isinstance(node, Union) else (node,)
    out = []
    for part in parts:
        if not isinstance(part, Interval):
            raise E.ParseError("not an interval")
        out.append((part.left, _const(part.lo), _const(part.hi), part.right))
    return out


def _in_intervals(t: Any, intervals: list[tuple[str, Any, Any, str]]) -> bool:
    for left, lo, hi, right in intervals:
        above = t > lo or (left == "[" and t == lo)
        below = t < hi or (right == "]" and t == hi)
        if above and below:
            return True
    return False


def _in_chain(t: Any, var: str, trees: list[Any], ops: tuple[str, ...]) -> bool | None:
    try:
        values = [N.evaluate_numeric(tree, {var: t}) for tree in trees]
    except (ZeroDivisionError, ValueError, ArithmeticError, TypeError, E.TooLarge):
        return None
    if any(isinstance(v, mpmath.mpc) for v in values):
        return False
    for a, op, b in zip(values, ops, values[1:]):
        if not (a <= b + _TOL if op == "\\leq" else a < b - _TOL):
            return False
    return True


def same_real_set(gold: object, pred: object) -> bool:
    """Whether a `Chain` and an interval/union (either order) are the same subset of the reals."""
    chain, other = (gold, pred) if isinstance(gold, Chain) else (pred, gold)
    if not isinstance(chain, Chain):
        return False
    try:
        with mpmath.workdps(N.DPS):
            trees = [E.parse_expr_latex(x) for x in chain.exprs]
            names = set().union(*(E.symbols(t) for t in trees))
            if len(names) != 1:
                return False
            var = names.pop()
            intervals = _intervals(other)
            ends = sorted({v for _, lo, hi, _ in intervals for v in (lo, hi) if mpmath.isfinite(v)})
            points = list(_GRID)
            for e in ends:
                step = _TOL * 10**15 * max(1, abs(e))
                points += [e, e - step, e + step]
            points += [(a + b) / 2 for a, b in zip(ends, ends[1:])]
            if ends:
                points += [ends[0] - 1, ends[-1] + 1, ends[0] * 10 - 10**6, ends[-1] * 10 + 10**6]
            for t in points:
                inside = _in_chain(t, var, trees, chain.ops)
                if inside is not None and inside != _in_intervals(t, intervals):
                    return False
            return True
    except (E.ParseError, E.TooLarge, ValueError, ArithmeticError):
        return False
