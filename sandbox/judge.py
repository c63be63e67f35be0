"""The supervisor: turns executions into verdicts. Shared by every backend; uses only `Backend.execute`.

Where each kind of test is decided (never in a process that runs candidate code):

* stdio: the candidate child gets one input on stdin; its stdout comes back and `compare_stdout` judges
  it here.
* call: the child calls the function and writes the canonical encoding of the return value (exact
  built-in types only, `sandbox.canonical`); it is decoded here into fresh plain objects and compared
  with the expected value here. A lying ``__eq__`` cannot be encoded, so it never reaches a comparison.
* assert (HumanEval / MBPP): the test code holds the expected values, so it never runs with the
  candidate. It runs in its own sandboxed *checker* child, with ``candidate`` bound to a stub that
  replays recorded answers. Each unknown call stops the checker, which reports the call's arguments
  (canonical); the supervisor runs that one call in a fresh *candidate* child (which sees only the
  arguments), records the canonical answer, and starts the checker again with one more answer. The
  checker's ``random`` is seeded, so every replay makes the same calls (a mismatch means the test is
  nondeterministic: cannot judge). The verdict is the checker finishing without an exception, decided
  from a checker that only ever saw plain values. Checker rounds are cached, so a group of completions
  that give the same answers pays for the checker once.

C++ (stdio only): the program is compiled once per source (`sandbox.cpp.build`, cached by hash) in a
sandboxed compile child; a compile failure fails every test (reason "compile_error", the compiler's
messages in `Verdict.compile_error`); otherwise each test execs the cached binary in a fresh child.

A candidate's results are facts about one input; forging them (writing the channel itself, exiting
early, patching the harness) can only claim a value, and claiming the right value requires knowing it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sandbox import canonical
from sandbox.compare import compare_stdout
from sandbox.types import (
    AssertCase,
    CallCase,
    Job,
    Limits,
    Program,
    RunResult,
    Status,
    StdioCase,
    TestCase,
    TestOutcome,
    Verdict,
)

if TYPE_CHECKING:
    from sandbox.backend import Backend

__all__ = ["CannotJudge", "judge"]

MAX_CALLS = 2000
"""Candidate calls one assert-style test may make before we give up (cannot judge)."""
CHECKER_CACHE_SIZE = 20000


class CannotJudge(Exception):
    """The sandbox or a trusted test failed: no verdict about the candidate is possible."""


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key: tuple[str, str], value: dict[str, Any]) -> None:
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_checker_cache = _LRU(CHECKER_CACHE_SIZE)


def judge(
    backend: Backend, program: Program, cases: Sequence[TestCase], *, limits: Limits, all_pass: bool
) -> Verdict:
    """Judge `program` on `cases`, cheapest first; with `all_pass`, stop at the first failure.

    Returns a `Verdict` whose outcomes follow the order of `cases`; cases not run after an early stop
    have reason "skipped". An infrastructure failure sets ``infra_error`` (the reward must be None).
    """
    binary = None
    if program.language in _CPP:
        binary, failed = _compile(backend, program, cases)
        if failed is not None:
            return failed
    elif program.language != "python":
        return Verdict(
            (), backend.isolation, len(cases), infra_error=f"language {program.language!r} not supported"
        )
    order = sorted(range(len(cases)), key=lambda i: _cost(cases[i]))
    outcomes: list[TestOutcome | None] = [None] * len(cases)
    stopped = False
    for i in order:
        if stopped:
            outcomes[i] = TestOutcome(False, Status.OK, "skipped")
            continue
        try:
            outcomes[i] = _judge_one(backend, program, cases[i], limits, binary)
        except CannotJudge as exc:
            done = tuple(o for o in outcomes if o is not None)
            return Verdict(done, backend.isolation, len(cases), infra_error=str(exc))
        if all_pass and not outcomes[i].passed:  # type: ignore[union-attr]
            stopped = True
    return Verdict(tuple(o for o in outcomes if o is not None), backend.isolation, len(cases))


_CPP = ("cpp", "c++", "cc", "cxx")


def _compile(
    backend: Backend, program: Program, cases: Sequence[TestCase]
) -> tuple[str | None, Verdict | None]:
    """(binary path, None), or (None, the verdict) when the program did not compile or cannot be judged."""
    from sandbox import cpp

    bad = [type(c).__name__ for c in cases if not isinstance(c, StdioCase)]
    if bad:
        raise ValueError(f"C++ programs are judged on stdio tests only, got {bad[0]}")
    try:
        b = cpp.build(backend, program.source)
    except CannotJudge as exc:
        return None, Verdict((), backend.isolation, len(cases), infra_error=str(exc))
    except cpp.CompilerMissing as exc:
        return None, Verdict((), backend.isolation, len(cases), infra_error=str(exc))
    if b.binary is None:
        fail = TestOutcome(False, Status.COMPILE_ERROR, "compile_error", b.cpu_time, b.wall_time)
        return None, Verdict((fail,) * len(cases), backend.isolation, len(cases), compile_error=b.error)
    return b.binary, None


def _cost(case: TestCase) -> int:
    if isinstance(case, StdioCase):
        return len(case.input) + len(case.output)
    if isinstance(case, CallCase):
        return len(repr(case.args))
    return 1 << 30  # one assert-style check: run it after cheaper cases


def _execute(backend: Backend, job: Job) -> RunResult:
    res = backend.execute(job)
    if res.status is Status.INFRA_ERROR:
        raise CannotJudge(f"sandbox failure: {res.detail}")
    return res


def _failed(res: RunResult) -> TestOutcome:
    return TestOutcome(False, res.status, res.status.value, res.cpu_time, res.wall_time)


def _judge_one(
    backend: Backend, program: Program, case: TestCase, limits: Limits, binary: str | None = None
) -> TestOutcome:
    if isinstance(case, StdioCase):
        if binary is not None:
            job = Job("native", "", stdin=case.input.encode(), limits=limits, language="cpp", binary=binary)
        else:
            job = Job("script", program.source, stdin=case.input.encode(), limits=limits)
        res = _execute(backend, job)
        if res.status is not Status.OK:
            return _failed(res)
        ok, _ = compare_stdout(
            res.stdout, case.output, float_tol=case.float_tol, case_insensitive=case.case_insensitive
        )
        return TestOutcome(ok, res.status, "ok" if ok else "wrong_answer", res.cpu_time, res.wall_time)
    if isinstance(case, CallCase):
        if not case.entry_point:
            raise ValueError("CallCase.entry_point is empty: name the function to call")
        try:
            args = canonical.encode_value(list(case.args))
            kwargs = canonical.encode_value(dict(case.kwargs))
        except canonical.EncodeError as exc:
            raise ValueError(f"test arguments must be plain built-in values: {exc}") from exc
        res = _call(backend, program, case.entry_point, args, kwargs, limits)
        if res.status is not Status.OK:
            return _failed(res)
        try:
            got = canonical.decode(res.channel)
        except ValueError:
            return TestOutcome(False, Status.RUNTIME_ERROR, "bad_result", res.cpu_time, res.wall_time)
        ok = canonical.values_equal(_jsonish(got), _jsonish(case.expected), case.float_tol)
        return TestOutcome(ok, res.status, "ok" if ok else "wrong_answer", res.cpu_time, res.wall_time)
    if isinstance(case, AssertCase):
        return _judge_assert(backend, program, case, limits)
    raise TypeError(f"unknown test case type {type(case).__name__}")


def _jsonish(x: Any) -> Any:
    """Tuples as lists (expected values from JSON cannot be tuples); dict keys kept."""
    if type(x) in (list, tuple):
        return [_jsonish(v) for v in x]
    if type(x) is dict:
        return {k: _jsonish(v) for k, v in x.items()}
    return x


def _call(
    backend: Backend, program: Program, entry: str, args: Any, kwargs: Any, limits: Limits
) -> RunResult:
    payload = json.dumps({"entry_point": entry, "args": args, "kwargs": kwargs}).encode()
    return _execute(backend, Job("call", program.source, payload=payload, limits=limits))


def _judge_assert(backend: Backend, program: Program, case: AssertCase, limits: Limits) -> TestOutcome:
    key = hashlib.sha256(json.dumps([case.test, case.prelude, case.entry_point]).encode()).hexdigest()
    checker_limits = Limits(
        cpu_time_s=max(5.0, 2 * limits.cpu_time_s),
        memory_mb=max(limits.memory_mb, 1024),
        output_bytes=1 << 22,
    )
    answers: list[dict[str, Any]] = []
    cpu = wall = 0.0
    # Speed: calls whose arguments are literals in the test text are run up front (in parallel), so a
    # straight-line test needs one checker run instead of one per call. A wrong guess costs only time:
    # the checker reports the first call whose arguments differ and the replay goes on from there.
    predicted = _predict_calls(case)
    if predicted:
        results = _run_calls(backend, program, case.entry_point, predicted, limits)
        for enc, res in zip(predicted, results):
            cpu += res.cpu_time
            wall += res.wall_time
            answer = _answer(enc, res)
            if answer is None:
                return TestOutcome(False, res.status, _reason(res), cpu, wall)
            answers.append({**answer, "predicted": True})
    for _ in range(MAX_CALLS + 1):
        record = _checker_round(backend, case, key, answers, checker_limits)
        if record.get("done"):
            return TestOutcome(True, Status.OK, "ok", cpu, wall)
        if "failed" in record:
            return TestOutcome(False, Status.OK, "wrong_answer", cpu, wall)
        if "need" not in record or not record["need"] <= len(answers):
            raise CannotJudge(f"assert-style test cannot be judged: {json.dumps(record)[:200]}")
        del answers[record["need"] :]  # after a wrong guess, drop the guesses from there on
        enc_args, enc_kwargs = record["args"]
        res = _call(backend, program, case.entry_point, enc_args, enc_kwargs, limits)
        cpu += res.cpu_time
        wall += res.wall_time
        answer = _answer(record["args"], res)
        if answer is None:
            return TestOutcome(False, res.status, _reason(res), cpu, wall)
        answers.append(answer)
    raise CannotJudge(f"assert-style test made more than {MAX_CALLS} candidate calls")


def _reason(res: RunResult) -> str:
    return "bad_result" if res.status is Status.OK else res.status.value


def _answer(enc: Any, res: RunResult) -> dict[str, Any] | None:
    """The checker's record of one candidate call, or None when the call failed beyond an exception."""
    if res.status is Status.OK:
        try:
            value = json.loads(res.channel)
            canonical.decode_value(value)
        except ValueError:
            return None
        return {"args": enc, "value": value}
    if res.status is Status.RUNTIME_ERROR:  # an exception is data for the test (it may expect one)
        lines = res.stderr.decode(errors="replace").strip().splitlines()
        return {"args": enc, "error": (lines[-1] if lines else res.detail)[:200]}
    return None


def _run_calls(
    backend: Backend, program: Program, entry: str, calls: list[Any], limits: Limits
) -> list[RunResult]:
    width = max(1, min(backend.parallelism, len(calls)))
    if width == 1:
        return [_call(backend, program, entry, a, k, limits) for a, k in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(width) as ex:
        return list(ex.map(lambda c: _call(backend, program, entry, c[0], c[1], limits), calls))


# CPython 3.11 keeps the AST constructor's recursion depth in shared state, so two threads parsing
# at once can fail with "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905).
_AST_LOCK = threading.Lock()


def _predict_calls(case: AssertCase) -> list[Any]:
    """Canonical ``[args, kwargs]`` of the candidate calls written with literal arguments in the test,
    in statement order, up to the first statement that calls the candidate some other way."""
    try:
        with _AST_LOCK:
            tree = ast.parse(case.test)
    except (SyntaxError, ValueError):
        return []
    body = tree.body
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "check":
            body = node.body
            break
    names = {case.entry_point, "candidate"}
    out: list[Any] = []
    for stmt in body:
        calls = [
            n
            for n in ast.walk(stmt)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names
        ]
        if not calls:
            continue
        if not isinstance(stmt, ast.Assert) or len(calls) != 1:
            break
        call = calls[0]
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg is not None}
            if len(kwargs) != len(call.keywords):
                break
            out.append(canonical.encode_value([args, kwargs]))
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, canonical.EncodeError):
            break
        if len(out) >= MAX_CALLS:
            break
    return out


def _checker_round(
    backend: Backend, case: AssertCase, key: str, answers: list[dict[str, Any]], limits: Limits
) -> dict[str, Any]:
    answers_text = json.dumps(answers, separators=(",", ":"))
    cached = _checker_cache.get((key, answers_text))
    if cached is not None:
        return cached
    payload = json.dumps(
        {"entry_point": case.entry_point, "prelude": case.prelude, "answers": answers, "seed": 0}
    ).encode()
    res = _execute(backend, Job("check", case.test, payload=payload, limits=limits))
    try:
        record = json.loads(res.channel) if res.status is Status.OK else None
    except ValueError:
        record = None
    if not isinstance(record, dict):
        tail = res.stderr.decode(errors="replace").strip().splitlines()[-1:] or [res.detail]
        raise CannotJudge(f"the assert-style checker itself failed ({res.status.value}): {tail[0][:200]}")
    _checker_cache.put((key, answers_text), record)
    return record
