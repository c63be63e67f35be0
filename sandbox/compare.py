"""Output comparison for stdin/stdout tests. Runs in the supervisor only, never in a sandboxed child.

Strict by default: the same number of lines (trailing blank lines and trailing spaces ignored), the
same number of whitespace-separated tokens on each line, and equal tokens. Leniency only where the
test asks for it: float tolerance, case folding. No prefix, token-set or line-joining leniency: an
output that is a prefix of the expected one fails.
"""

from __future__ import annotations

import math

__all__ = ["compare_stdout", "tokens_equal"]


def _lines(text: str) -> list[list[str]]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.split() for line in lines]


def _as_float(tok: str) -> float | None:
    try:
        x = float(tok)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def tokens_equal(
    got: str, want: str, *, float_tol: float | None = None, case_insensitive: bool = False
) -> bool:
    """One token against one expected token.

    >>> tokens_equal("0.3333333", "0.333333333", float_tol=1e-6)
    True
    >>> tokens_equal("YES", "yes")
    False
    """
    if got == want:
        return True
    if case_insensitive and got.casefold() == want.casefold():
        return True
    if float_tol is not None:
        a, b = _as_float(got), _as_float(want)
        if a is not None and b is not None:
            return math.isclose(a, b, rel_tol=float_tol, abs_tol=float_tol)
    return False


def compare_stdout(
    got: bytes, want: str, *, float_tol: float | None = None, case_insensitive: bool = False
) -> tuple[bool, str]:
    """Judge a program's stdout against the expected text.

    Args:
        got: raw stdout bytes (decoded as UTF-8; undecodable bytes never match).
        want: the expected output.
        float_tol: absolute and relative tolerance for tokens that both parse as finite floats.
        case_insensitive: compare tokens case-folded.

    Returns:
        ``(passed, reason)`` where reason is "ok" or says where the first difference is.

    >>> compare_stdout(b"1\\n2\\n", "1\\n2\\n3\\n")
    (False, 'line count 2, expected 3')
    """
    text = got.decode("utf-8", errors="replace")
    g, w = _lines(text), _lines(want)
    if len(g) != len(w):
        return False, f"line count {len(g)}, expected {len(w)}"
    for i, (gl, wl) in enumerate(zip(g, w), 1):
        if len(gl) != len(wl):
            return False, f"line {i}: {len(gl)} tokens, expected {len(wl)}"
        for gt, wt in zip(gl, wl):
            if not tokens_equal(gt, wt, float_tol=float_tol, case_insensitive=case_insensitive):
                return False, f"line {i}: token differs"
    return True, "ok"
