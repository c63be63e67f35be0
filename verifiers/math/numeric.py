"""Numeric evaluation of `verifiers.math.expr` ASTs at a point, for randomized identity probing.

mpmath at `DPS` digits; every power, factorial and product is size-checked first (`TooLarge`), a
negative base under an odd-denominator exponent takes the real root (``x^{2/3}`` = ``\\sqrt[3]{x}^2``),
and a sum/product with symbolic limits evaluates to a fingerprint (see `has_opaque`).
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import mpmath

from verifiers.math.expr import MAX_NUMERIC_MAG, Node, NotExact, TooLarge, evaluate_exact, symbols

__all__ = ["DPS", "evaluate_numeric", "has_opaque", "probe_points"]

DPS = 50


def probe_points(names: list[str], count: int = 7, seed: int = 20240607) -> list[dict[str, Any]]:
    """Deterministic sample points: three small positive, two of mixed sign, two large positive
    (so that floor/ceil of different slopes, ``\\lfloor 2n/5 \\rfloor`` vs ``\\lfloor 3n/5 \\rfloor``, differ)."""
    rng = random.Random(seed)
    points = []
    for k in range(count):
        point = {}
        for name in names:
            v = mpmath.mpf(rng.uniform(0.35, 2.6) if k < 5 else rng.uniform(7.0, 60.0))
            if 3 <= k < 5 and rng.random() < 0.5:
                v = -v
            point[name] = v
        points.append(point)
    return points


def evaluate_numeric(node: Node, env: dict[str, Any]) -> Any:
    """Value at the point `env` (mpmath mpc/mpf at the current precision). Raises TooLarge, ZeroDivisionError,
    ValueError for undefined points."""
    kind = node[0]
    if kind == "num":
        return mpmath.mpf(node[1].numerator) / node[1].denominator
    if kind == "sym":
        if node[1] not in env:
            raise ValueError(f"unbound symbol {node[1]}")
        return env[node[1]]
    if kind == "const":
        return {"pi": mpmath.pi, "e": mpmath.e, "i": mpmath.mpc(0, 1), "inf": mpmath.inf}[node[1]]
    if kind == "neg":
        return -evaluate_numeric(node[1], env)
    if kind == "add":
        return mpmath.fsum(evaluate_numeric(t, env) for t in node[1])
    if kind == "mul":
        out = mpmath.mpf(1)
        for t in node[1]:
            out = out * evaluate_numeric(t, env)
            _check_mag(out)
        return out
    if kind == "div":
        den = evaluate_numeric(node[2], env)
        if den == 0:
            raise ZeroDivisionError
        return evaluate_numeric(node[1], env) / den
    if kind == "pow":
        base = evaluate_numeric(node[1], env)
        exp = evaluate_numeric(node[2], env)
        if base == 0:
            return mpmath.mpf(0) if mpmath.re(exp) > 0 else mpmath.mpf(1)
        est = abs(exp) * abs(mpmath.log(abs(base), 2))
        if est > MAX_NUMERIC_MAG:
            raise TooLarge("power beyond the numeric budget")
        if isinstance(exp, mpmath.mpf) and exp == int(exp) and abs(exp) < 10**6:
            return base ** int(exp)
        if isinstance(base, mpmath.mpf) and base < 0:
            odd = _odd_root_exponent(node[2])
            if odd is not None:  # x^{2/3} at x<0: the real root, as \sqrt[3]{x}^2 (cbrt) reads it
                return (-1) ** odd.numerator * mpmath.power(-base, exp)
        return mpmath.power(base, exp)
    if kind == "fact":
        v = evaluate_numeric(node[1], env)
        if abs(v) > 10**5:
            raise TooLarge("factorial beyond the numeric budget")
        return mpmath.gamma(v + 1)
    if kind == "binom":
        n, k = evaluate_numeric(node[1], env), evaluate_numeric(node[2], env)
        if abs(n) > 10**5:
            raise TooLarge("binomial beyond the numeric budget")
        return mpmath.binomial(n, k)
    if kind == "root":
        v, n = evaluate_numeric(node[1], env), evaluate_numeric(node[2], env)
        if n == 2:
            return mpmath.sqrt(v)
        if n == 3 and isinstance(v, mpmath.mpf):
            return mpmath.cbrt(v)
        return mpmath.root(v, n) if n == int(n) else mpmath.power(v, 1 / n)
    if kind == "log":
        arg = evaluate_numeric(node[2], env)
        if arg == 0:
            raise ValueError("log 0")
        value = mpmath.log(arg)
        if node[1] is not None:
            value = value / mpmath.log(evaluate_numeric(node[1], env))
        return value
    if kind == "fn":
        arg = evaluate_numeric(node[2], env)
        name = node[1]
        if name == "abs":
            return abs(arg)
        if name in ("floor", "ceil"):
            if not isinstance(arg, mpmath.mpf):
                raise ValueError("floor of a complex number")
            return mpmath.floor(arg) if name == "floor" else mpmath.ceil(arg)
        fn = {"sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan, "cot": mpmath.cot, "sec": mpmath.sec,
              "csc": mpmath.csc, "arcsin": mpmath.asin, "arccos": mpmath.acos, "arctan": mpmath.atan,
              "sinh": mpmath.sinh, "cosh": mpmath.cosh, "tanh": mpmath.tanh, "exp": mpmath.exp}[name]
        if name == "exp" and abs(arg) > MAX_NUMERIC_MAG:
            raise TooLarge("exp beyond the numeric budget")
        return fn(arg)
    if kind in ("sum", "prod"):
        return _big_operator(node, env)
    raise ValueError(f"cannot evaluate {kind}")


MAX_SUM_TERMS = 2000
_HASH_POINTS = 6


def _big_operator(node: Node, env: dict[str, Any]) -> Any:
    """Integer limits: the value (at most `MAX_SUM_TERMS` terms). Symbolic limits: a fingerprint,
    a fixed linear functional of the limits and of the body at k = 0..5, equal for equal sums
    written differently (``F_k F_{n-k-1}`` vs ``F_{n-k-1} F_k``, renamed index); a differing
    fingerprint proves nothing (see `has_opaque`)."""
    kind, var, lo_node, hi_node, body = node
    lo, hi = evaluate_numeric(lo_node, env), evaluate_numeric(hi_node, env)
    if all(isinstance(v, mpmath.mpf) and v == int(v) for v in (lo, hi)):
        a, b = int(lo), int(hi)
        if b - a >= MAX_SUM_TERMS:
            raise TooLarge("sum with too many terms")
        values = [evaluate_numeric(body, {**env, var: mpmath.mpf(k)}) for k in range(a, b + 1)]
        return mpmath.fsum(values) if kind == "sum" else mpmath.fprod(values)
    weights = [mpmath.sqrt(p) for p in (2, 3, 5, 7, 11, 13, 17, 19)]
    parts = [weights[k] * evaluate_numeric(body, {**env, var: mpmath.mpf(k)}) for k in range(_HASH_POINTS)]
    return mpmath.fsum(parts) + weights[6] * lo + weights[7] * hi + (0 if kind == "sum" else mpmath.pi)


def has_opaque(node: Node) -> bool:
    """Whether the node holds a sum/product with symbolic limits (numeric value is a fingerprint)."""
    if node[0] in ("sum", "prod") and (symbols(node[2]) or symbols(node[3])):
        return True
    return any(isinstance(p, tuple) and (has_opaque(p) if p and isinstance(p[0], str) else any(has_opaque(q) for q in p))
               for p in node[1:])


def _odd_root_exponent(node: Node) -> Fraction | None:
    """The exponent as a fraction with an odd denominator (``2/3``), else None."""
    try:
        q = evaluate_exact(node)
    except (NotExact, TooLarge):
        return None
    return q if q.denominator % 2 == 1 and q.denominator < 10**6 else None


def _check_mag(v: Any) -> None:
    if v != 0 and abs(mpmath.log(abs(v), 2)) > MAX_NUMERIC_MAG:
        raise TooLarge("value beyond the numeric budget")
