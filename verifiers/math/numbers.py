"""Numbers as written: exact value plus the precision the writer showed, and the comparison policy.

Policy (no tolerance hides a wrong answer):
* an integer, a fraction or any exact expression is compared exactly (``1000000`` is not ``1000001``);
* a gold decimal is matched by the digits it shows: the prediction must round to it, i.e. lie within
  half a unit of its last digit (gold ``0.49`` accepts ``0.4899``, rejects ``0.50``; gold ``4.5e33``
  accepts ``4.46e33``); a gold whose decimals are all zero (``27.0``) is an integer;
* a predicted decimal for a non-terminating exact gold (``1/3``) is accepted when it shows at least
  three significant digits and is the gold rounded or truncated at those digits;
* percent: a gold ``25%`` accepts ``25%``, ``25`` and ``0.25``; without ``%`` in the gold there is no
  x100 leniency (gold ``0.5`` rejects ``50``), and a predicted ``%`` is read as a unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Number", "numbers_equal", "parse_number"]


@dataclass(frozen=True, slots=True)
class Number:
    """A number with the precision it was written with."""

    value: Fraction
    """Exact value of what was written."""
    ulp: Fraction | None
    """One unit in the last shown digit for decimals (``0.49`` -> 1/100); None for exact numbers."""
    percent: bool = False
    """Written with a trailing ``%`` (value is the number before the sign)."""
    sig: int = 0
    """Significant digits shown (decimals only)."""


_INT = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
_DEC = rf"(?:{_INT}(?:\.\d*)?|\.\d+)"
_SCI_E = re.compile(rf"^([-+]?)({_DEC})[eE]([-+]?\d{{1,6}})$")
_SCI_TIMES = re.compile(rf"^([-+]?)({_DEC})(?:\\times|\\cdot|\*|x)10\^(?:\{{([-+]?\d{{1,6}})\}}|(\d))$")
_PLAIN = re.compile(rf"^([-+]?)({_DEC})$")
_MIXED = re.compile(r"^([-+]?)(\d+)\\frac(?:\{(\d+)\}\{(\d+)\}|(\d)(\d))$")


def _decimal(text: str) -> tuple[Fraction, int, int]:
    """value, decimals shown, significant digits shown."""
    text = text.replace(",", "")
    value = Fraction(text if text != "." else "0")
    if "." in text:
        decimals = len(text.split(".", 1)[1])
    else:
        decimals = 0
    digits = text.replace(".", "").lstrip("0")
    return value, decimals, max(len(digits), 1)


def parse_number(s: str) -> Number | None:
    """Read a normalized answer as a written number, or None when it is not a plain number.

    >>> parse_number("7,425,000").value
    Fraction(7425000, 1)
    >>> parse_number("1.5\\\\times10^{6}").ulp
    Fraction(100000, 1)
    """
    percent = s.endswith("%")
    if percent:
        s = s[:-1]
    m = _PLAIN.match(s)
    if m:
        value, dec, sig = _decimal(m.group(2))
        sign = -1 if m.group(1) == "-" else 1
        exact = "." not in m.group(2) or value == int(value)
        return Number(sign * value, None if exact else Fraction(1, 10**dec), percent, sig)
    m = _SCI_E.match(s) or _SCI_TIMES.match(s)
    if m:
        value, dec, sig = _decimal(m.group(2))
        exp = int(m.group(3) if m.group(3) is not None else m.group(4))
        if abs(exp) > 400:  # size guard: no 10^999999 as an exact Fraction
            return None
        sign = -1 if m.group(1) == "-" else 1
        scale = Fraction(10) ** exp
        return Number(sign * value * scale, Fraction(1, 10**dec) * scale, percent, sig)
    m = _MIXED.match(s)
    if m:
        whole = int(m.group(2))
        num, den = (int(m.group(3)), int(m.group(4))) if m.group(3) else (int(m.group(5)), int(m.group(6)))
        if den == 0 or num >= den:
            return None
        sign = -1 if m.group(1) == "-" else 1
        return Number(sign * (whole + Fraction(num, den)), None, percent)
    return None


def _close(gold: Fraction, ulp: Fraction, pred: Fraction) -> bool:
    return abs(pred - gold) * 2 <= ulp


def _terminates_within(value: Fraction, decimals: int) -> bool:
    return (value * 10**decimals).denominator == 1


def _one(gold: Number, pred: Number) -> bool:
    if gold.ulp is not None:  # gold decimal: the prediction must round to it
        return _close(gold.value, gold.ulp, pred.value)
    if pred.value == gold.value:
        return True
    if pred.ulp is None or gold.value.denominator == 1:
        return False
    decimals = 0
    u = pred.ulp
    while u < 1 and decimals < 60:
        u *= 10
        decimals += 1
    if pred.sig < 3 or _terminates_within(gold.value, decimals):
        return False
    return abs(pred.value - gold.value) < pred.ulp  # rounded or truncated


def numbers_equal(gold: Number, pred: Number) -> bool:
    """Whether `pred` states the number `gold` under the module's policy (asymmetric by design)."""
    plain = Number(pred.value, pred.ulp, False, pred.sig)
    if _one(Number(gold.value, gold.ulp, False, gold.sig), plain):
        return True
    if gold.percent and not pred.percent:
        ulp = gold.ulp / 100 if gold.ulp is not None else None
        return _one(Number(gold.value / 100, ulp, False, gold.sig), plain)
    return False
