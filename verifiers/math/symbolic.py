"""The symbolic step: LaTeX -> sympy (latex2sympy2_extended) -> math-verify's comparison.

Only for leaves our own parser (`verifiers.math.expr`) cannot read. It may be slow or hang on
hostile input, so it runs where a deadline can kill it: inside a `verifiers.pool` worker (the
`math` Reward is heavy, and `verify(deadline=...)` sends this step to the shared pool).
math-verify's own timeouts use ``signal.alarm`` in the main thread; we turn them off
(``timeout_seconds=None``) because the pool's kill is our deadline. Symbol case is kept
(``lowercase_symbols=False``), and sympy's ``parse_expr`` is never called on model text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["symbolic_equal", "to_sympy"]


@lru_cache(maxsize=4096)
def to_sympy(latex: str) -> Any:
    """sympy object for a LaTeX string, or None when it does not parse."""
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    config = ConversionConfig(lowercase_symbols=False, interpret_as_mixed_fractions=True)
    try:
        return latex2sympy(latex, conversion_config=config)
    # latex2sympy raises many types (ANTLR, sympy, ValueError) on odd text; all mean "does not parse".
    except Exception:  # noqa: BLE001
        return None


def symbolic_equal(gold: str, pred: str) -> bool | None:
    """math-verify's verdict on two LaTeX leaves; None when either side does not parse."""
    import logging

    import math_verify

    # math-verify warns on every call that its timeout is off: here that is by design (pool deadline).
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    g = to_sympy(gold)
    p = to_sympy(pred)
    if g is None or p is None:
        return None
    return bool(math_verify.verify(g, p, timeout_seconds=None, raise_on_error=False))
