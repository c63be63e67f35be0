"""Invariants, checked with Hypothesis: canonical values round-trip with their exact types; code
extraction and the comparator never raise on arbitrary text; a comparator never accepts a strict prefix;
any source text and stdin reach the sandboxed child unchanged."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import Job, Limits, Status
from sandbox.backend import Backend
from sandbox.canonical import EncodeError, decode, encode
from sandbox.compare import compare_stdout
from verifiers.code import extract_code

plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)  # type: ignore[attr-defined,index]
    return a == b


@given(plain)
def test_canonical_roundtrip_keeps_exact_types(value: object) -> None:
    assert _same(decode(encode(value)), value)


@given(st.integers())
def test_subclasses_are_never_encoded(n: int) -> None:
    class Liar(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    try:
        encode([Liar(n)])
    except EncodeError:
        return
    raise AssertionError("an int subclass was encoded")


@given(st.text(max_size=300))
def test_extract_code_never_raises(text: str) -> None:
    for block in ("last", "first", "whole"):
        out = extract_code(text, block=block)
        assert out is None or isinstance(out, str)


@given(st.lists(st.text(alphabet="ab1 .", min_size=1, max_size=6), min_size=2, max_size=6))
def test_a_strict_prefix_of_the_lines_never_passes(lines: list[str]) -> None:
    want = "\n".join(lines) + "\n"
    kept = [line for line in lines if line.strip()]
    if len(kept) < 2:
        return
    got = "\n".join(kept[:-1]).encode()
    assert compare_stdout(got, "\n".join(kept))[0] is False
    assert compare_stdout(want.encode(), want)[0] is True


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(exclude_categories=()), max_size=40), st.binary(max_size=40))
def test_source_and_stdin_reach_the_child_intact(backend: Backend, text: str, stdin: bytes) -> None:
    """The job is framed as (source length, source, payload): any text, lone surrogates and a
    coding cookie included, arrives as the exact `str` the supervisor holds; stdin as the exact bytes."""
    src = f"# -*- coding: latin-1 -*-\nimport sys\nprint(ascii({text!r}), ascii(sys.stdin.buffer.read()))\n"
    res = backend.execute(Job("script", src, stdin=stdin, limits=Limits(cpu_time_s=2.0)))
    assert res.status is Status.OK, res
    assert res.stdout.decode() == f"{ascii(text)} {ascii(stdin)}\n"
