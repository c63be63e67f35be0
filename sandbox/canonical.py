"""Canonical encoding of plain built-in values, so a child can hand a value to the supervisor.

Only EXACT built-in types are accepted (``type(x) is int``, not ``isinstance``): a subclass with a lying
``__eq__``/``__hash__``/``__len__`` cannot be encoded, so it can never reach a comparison. Decoding builds
fresh plain objects. The encoding is JSON with tags for what JSON lacks:

    None, bool, int, str        themselves            float   itself, or {"f": "inf"|"-inf"|"nan"}
    list                        [...]                 tuple   {"t": [...]}
    dict                        {"d": [[k, v], ...]}  set     {"s": [...]}   frozenset {"z": [...]}
    bytes                       {"b": "<hex>"}        complex {"c": [re, im]}

This module is stdlib-only: the zygote imports it before it locks itself down.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["EncodeError", "decode", "decode_value", "encode", "encode_value", "values_equal"]

MAX_DEPTH = 100


class EncodeError(ValueError):
    """A value that is not made of exact built-in types (or is too deep)."""


def encode_value(x: Any, depth: int = 0) -> Any:
    """The JSON-ready tagged form of `x`. Raises EncodeError for anything but exact built-ins."""
    if depth > MAX_DEPTH:
        raise EncodeError("value nested deeper than 100 levels")
    t = type(x)
    if x is None or t is bool or t is int or t is str:
        return x
    if t is float:
        if math.isfinite(x):
            return x
        return {"f": "nan" if x != x else ("inf" if x > 0 else "-inf")}
    if t is list:
        return [encode_value(v, depth + 1) for v in x]
    if t is tuple:
        return {"t": [encode_value(v, depth + 1) for v in x]}
    if t is dict:
        return {"d": [[encode_value(k, depth + 1), encode_value(v, depth + 1)] for k, v in x.items()]}
    if t is set or t is frozenset:
        items = sorted((encode_value(v, depth + 1) for v in x), key=lambda e: json.dumps(e, sort_keys=True))
        return {"s" if t is set else "z": items}
    if t is bytes:
        return {"b": x.hex()}
    if t is complex:
        return {"c": [encode_value(x.real), encode_value(x.imag)]}
    raise EncodeError(f"cannot encode a value of type {t.__module__}.{t.__qualname__}: plain built-ins only")


def decode_value(e: Any) -> Any:
    """Inverse of `encode_value`; builds plain objects only."""
    t = type(e)
    if e is None or t is bool or t is int or t is str or t is float:
        return e
    if t is list:
        return [decode_value(v) for v in e]
    if t is dict and len(e) == 1:
        ((tag, body),) = e.items()
        if tag == "f":
            return float(body)
        if tag == "t":
            return tuple(decode_value(v) for v in body)
        if tag == "d":
            return {decode_value(k): decode_value(v) for k, v in body}
        if tag == "s":
            return {decode_value(v) for v in body}
        if tag == "z":
            return frozenset(decode_value(v) for v in body)
        if tag == "b":
            return bytes.fromhex(body)
        if tag == "c":
            return complex(decode_value(body[0]), decode_value(body[1]))
    raise ValueError(f"not a canonical encoding: {str(e)[:80]}")


def encode(x: Any) -> str:
    """`x` as canonical JSON text."""
    return json.dumps(encode_value(x), separators=(",", ":"), allow_nan=False)


def decode(text: str | bytes) -> Any:
    """Plain value from canonical JSON text (raises ValueError on anything else)."""
    return decode_value(json.loads(text))


def values_equal(a: Any, b: Any, float_tol: float | None = None) -> bool:
    """Deep equality of two DECODED plain values (Python ``==``, tuples and lists kept apart).

    With `float_tol`, numbers compare with ``math.isclose(rel_tol=tol, abs_tol=tol)``.
    """
    ta, tb = type(a), type(b)
    if ta in (list, tuple) or tb in (list, tuple):
        return ta is tb and len(a) == len(b) and all(values_equal(x, y, float_tol) for x, y in zip(a, b))
    if ta is dict or tb is dict:
        return ta is tb and a.keys() == b.keys() and all(values_equal(a[k], b[k], float_tol) for k in a)
    if float_tol is not None and (ta is float or tb is float) and ta is not bool and tb is not bool:
        if ta in (int, float) and tb in (int, float):
            return math.isclose(a, b, rel_tol=float_tol, abs_tol=float_tol)
    return bool(a == b) and (ta is bool) == (tb is bool)
