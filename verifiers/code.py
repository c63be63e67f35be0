"""The `code` reward: run the completion's program against the sample's tests in the sandbox.

The reward is computed by the supervisor (`sandbox.judge`) in this process; the program runs in
sandboxed children that never see an expected output (see `sandbox.embedded` for the threat model).
As a heavy reward it runs in a `verifiers.pool.WorkerPool` worker, which becomes the supervisor: the
sandbox backend is a per-process singleton started on first use there; killing the worker's process
group kills its zygotes and their children.

The ``tests`` field, one of:

* stdin/stdout::

    {"style": "stdio", "cases": [{"input": "1 2\\n", "output": "3\\n"}, ...],
     "float_tol": 1e-6,            # optional: tokens that parse as floats compare within this tolerance
     "case_insensitive": false}    # optional: compare tokens case-folded (YES/yes problems)

  A bare list of ``{"input", "output"}`` objects means the same with the defaults.
* function call (the child returns a canonical encoding of plain built-ins; tuples compare as lists)::

    {"style": "call", "entry_point": "add", "cases": [{"args": [1, 2], "expected": 3}, ...],
     "float_tol": null}            # optional; a case may also give "kwargs": {...}

* assert style, as in HumanEval (``check(candidate)``) or MBPP (module-level asserts naming the
  function); the test code runs in its own sandboxed checker, never with the candidate::

    {"style": "assert", "entry_point": "add", "test": "def check(candidate):\\n    assert candidate(1, 2) == 3",
     "prelude": "..."}             # optional trusted code run before the test (e.g. the HumanEval prompt)

Any style may add ``"limits": {"cpu_time_s": 2.0, "memory_mb": 512}`` to override the reward's.

Language: ``"language": "cpp"`` in the tests object (else ``extra["code_language"]``, else the reward's
`language` parameter) selects C++17. The program is then the last block fenced as ``cpp``, ``c++``,
``cc`` or ``cxx`` (or untagged); it is compiled once in its own sandboxed compile step (cached by source
hash, see `sandbox.cpp`) and run per test. C++ is judged on stdio tests only (other styles give
``None``, reason ``unsupported_language``). A program that does not compile, or hits the compile
limits, scores 0.0 (reason ``wrong``, ``info["first_failure"] == "compile_error"`` and the compiler's
last messages in ``info["compile_error"]``): it is the program's fault, not "cannot judge".

Scores: ``mode="fraction"`` gives passed/total; ``mode="all"`` gives 1.0 only if every test passes
(cheapest first, stopping at the first failure). No code block gives 0.0 (reason ``no_answer``). A
sandbox failure gives ``None`` (reason ``sandbox_error``), never 0.0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from verifiers.errors import ConfigError
from verifiers.registry import register
from verifiers.types import Reason, Reward, RewardResult, Sample

__all__ = ["CodeReward", "extract_code", "parse_tests"]

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.DOTALL | re.MULTILINE)
_ALIASES = {"python": {"python", "py", "python3", "py3"}, "cpp": {"cpp", "c++", "cc", "cxx"}}
_LANGUAGES = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}


def _language(sample: Sample, default: str) -> str:
    """The program's language: tests["language"], else extra["code_language"], else the reward's; canonical name."""
    name = None
    if isinstance(sample.tests, Mapping):
        name = sample.tests.get("language")
    if name is None and sample.extra:
        name = sample.extra.get("code_language")
    name = str(name or default).lower()
    return _LANGUAGES.get(name, name)


def extract_code(completion: str, *, language: str = "python", block: str = "last") -> str | None:
    """The program in a completion: a fenced block tagged with `language` (or untagged).

    Args:
        completion: the model's text.
        language: "python" (or "cpp"); blocks tagged with another language are ignored.
        block: "last" (default) or "first" fenced block; "whole" takes the completion as it is.

    Returns:
        the code, or None when there is no suitable block.

    >>> extract_code("Plan.\\n```python\\nprint(1)\\n```\\nDone.")
    'print(1)\\n'
    """
    if block == "whole":
        return completion
    tags = _ALIASES.get(language, {language})
    found = [m.group(2) for m in _FENCE.finditer(completion) if m.group(1).lower() in tags or not m.group(1)]
    if not found:
        return None
    return found[-1] if block == "last" else found[0]


def parse_tests(tests: Any) -> tuple[list[Any], dict[str, Any]]:
    """The ``tests`` field as sandbox test cases plus per-record limit overrides.

    Raises:
        ValueError: the field does not follow the schema in this module's docstring.
    """
    from sandbox.types import AssertCase, CallCase, StdioCase

    if isinstance(tests, list):
        tests = {"style": "stdio", "cases": tests}
    if not isinstance(tests, Mapping):
        raise ValueError(f"'tests' must be an object or a list of stdio cases, got {type(tests).__name__}")
    style = tests.get("style", "stdio")
    limits = dict(tests.get("limits") or {})
    tol = tests.get("float_tol")
    out: list[Any] = []
    if style == "stdio":
        cases = _cases(tests)
        fold = bool(tests.get("case_insensitive", False))
        for i, c in enumerate(cases):
            if not (
                isinstance(c, Mapping)
                and isinstance(c.get("input"), str)
                and isinstance(c.get("output"), str)
            ):
                raise ValueError(
                    f"tests.cases[{i}] must be {{'input': str, 'output': str}}, got {str(c)[:80]}"
                )
            out.append(StdioCase(c["input"], c["output"], float_tol=tol, case_insensitive=fold))
        return out, limits
    entry = tests.get("entry_point")
    if not isinstance(entry, str) or not entry.isidentifier():
        raise ValueError(f"tests.entry_point must name a function for style {style!r}, got {entry!r}")
    if style == "call":
        for i, c in enumerate(_cases(tests)):
            if not (isinstance(c, Mapping) and isinstance(c.get("args"), list) and "expected" in c):
                raise ValueError(
                    f"tests.cases[{i}] must be {{'args': [...], 'expected': ...}}, got {str(c)[:80]}"
                )
            out.append(
                CallCase(tuple(c["args"]), c["expected"], dict(c.get("kwargs") or {}), tol, entry_point=entry)
            )
        return out, limits
    if style == "assert":
        test = tests.get("test")
        if not isinstance(test, str) or not test.strip():
            raise ValueError("tests.test must be the assert-style test code (a non-empty string)")
        return [AssertCase(test, entry, str(tests.get("prelude") or ""))], limits
    raise ValueError(f"tests.style must be 'stdio', 'call' or 'assert', got {style!r}")


def _cases(tests: Mapping[str, Any]) -> Sequence[Any]:
    cases = tests.get("cases")
    if not isinstance(cases, list) or not cases:
        raise ValueError("tests.cases must be a non-empty list")
    return cases


@register("code")
class CodeReward(Reward):
    """Pass fraction (or all-pass) of the completion's program on the sample's tests, in the sandbox.

    Args:
        mode: "fraction" (passed/total) or "all" (1.0 only if every test passes; stops early).
        language: "python" or "cpp" (C++17, stdio tests only); a record's ``tests["language"]`` overrides it.
        block: which fenced block holds the program: "last", "first", or "whole" (no fences).
        cpu_time_s: CPU seconds per test execution.
        memory_mb: address-space limit per execution, MiB.
        backend: "embedded" (default), "docker" or "auto".
        allow_unsafe: let the embedded backend run without isolation when nothing stronger works.
    """

    requires = ("tests",)
    heavy = True
    default_deadline = 60.0

    def __init__(
        self,
        *,
        mode: str = "fraction",
        language: str = "python",
        block: str = "last",
        cpu_time_s: float = 2.0,
        memory_mb: int = 512,
        backend: str = "embedded",
        allow_unsafe: bool = False,
    ) -> None:
        if mode not in ("fraction", "all"):
            raise ConfigError(f"code: mode must be 'fraction' or 'all', got {mode!r}")
        if block not in ("last", "first", "whole"):
            raise ConfigError(f"code: block must be 'last', 'first' or 'whole', got {block!r}")
        if not cpu_time_s > 0 or memory_mb < 32:
            raise ConfigError(f"code: need cpu_time_s > 0 and memory_mb >= 32, got {cpu_time_s}, {memory_mb}")
        if language.lower() not in _LANGUAGES:
            raise ConfigError(
                f"code: language must be 'python' or 'cpp' (or an alias: {sorted(_LANGUAGES)}), got {language!r}"
            )
        self.mode = mode
        self.language = language
        self.block = block
        self.cpu_time_s = cpu_time_s
        self.memory_mb = memory_mb
        self.backend = backend
        self.allow_unsafe = allow_unsafe

    def score(self, sample: Sample) -> RewardResult:
        missing = self.missing(sample)
        if missing is not None:
            return missing
        from sandbox import BackendError, Limits, Program, StdioCase, get_backend

        cases, overrides = parse_tests(sample.tests)
        language = _language(sample, self.language)
        if language not in _LANGUAGES or (
            language == "cpp" and not all(isinstance(c, StdioCase) for c in cases)
        ):
            return RewardResult.cannot_judge("unsupported_language", language=language)
        code = extract_code(sample.completion, language=language, block=self.block)
        if code is None or not code.strip():
            return RewardResult(0.0, Reason.NO_ANSWER, {"why": f"no ```{language} block"})
        limits = Limits(
            cpu_time_s=float(overrides.get("cpu_time_s", self.cpu_time_s)),
            memory_mb=int(overrides.get("memory_mb", self.memory_mb)),
        )
        try:
            backend = get_backend(self.backend, allow_unsafe=self.allow_unsafe)
        except BackendError as exc:
            return RewardResult.cannot_judge("sandbox_error", error=str(exc))
        verdict = backend.run(Program(language, code), cases, limits=limits, all_pass=self.mode == "all")
        info = {"passed": verdict.passed, "total": verdict.total, "isolation": verdict.isolation.value}
        if verdict.infra_error is not None:
            return RewardResult.cannot_judge("sandbox_error", error=verdict.infra_error, **info)
        first_fail = next(
            (o.reason for o in verdict.outcomes if not o.passed and o.reason != "skipped"), None
        )
        if first_fail is not None:
            info["first_failure"] = first_fail
        if verdict.compile_error is not None:
            info["compile_error"] = verdict.compile_error[-500:]
        value = (1.0 if verdict.all_passed else 0.0) if self.mode == "all" else verdict.fraction
        return RewardResult(value, Reason.OK if verdict.all_passed else Reason.WRONG, info)
