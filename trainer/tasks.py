"""Built-in synthetic tasks, so the trainer runs with no data set to download.

Each task makes records ``{"prompt", "answer", "language"}`` (the fields the math, format and
language rewards read) and, for the cold-start SFT, an R1-format reasoning trace per record:
``<think> digit-by-digit working in English </think><answer> N </answer>``.

- ``addition``: ``a + b`` with `digits`-digit operands. The trace adds column by column with carries,
  so a small model can learn the procedure; a model that has seen few traces gets it partly right.
- ``arithmetic``: ``a + b``, ``a - b`` or ``a * b`` with one operand of one digit (sums and differences
  use the addition/subtraction trace; products a short one).

Train and held-out prompts are disjoint (split by question text).
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["TASKS", "make_records", "trace"]

TASKS = ("addition", "arithmetic")


def _operand(rng: random.Random, digits: int) -> int:
    return rng.randint(10 ** (digits - 1) if digits > 1 else 0, 10**digits - 1)


def _question(a: int, op: str, b: int) -> str:
    return f"What is {a} {op} {b}?"


def _one(rng: random.Random, task: str, digits: int) -> tuple[int, str, int]:
    if task == "addition":
        return _operand(rng, digits), "+", _operand(rng, digits)
    op = rng.choice("+-*")
    if op == "*":
        return _operand(rng, digits), op, rng.randint(2, 9)
    a, b = _operand(rng, digits), _operand(rng, digits)
    return (max(a, b), op, min(a, b)) if op == "-" else (a, op, b)


def make_records(
    task: str, n_train: int, n_eval: int, *, digits: int = 2, seed: int = 0, language: str = "en"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Disjoint train and held-out records of a synthetic task.

    Args:
        task: one of `TASKS`.
        n_train: training records wanted (fewer when the task has fewer distinct questions).
        n_eval: held-out records.
        digits: digits per operand.
        seed: the split and sampling seed (the held-out set depends on it).
        language: target language stored in each record.

    Returns:
        ``(train, held_out)`` lists of ``{"prompt", "answer", "language", "a", "op", "b"}``.

    >>> train, test = make_records("addition", 3, 2, seed=1)
    >>> {r["prompt"] for r in train} & {r["prompt"] for r in test}
    set()
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; built-in tasks: {', '.join(TASKS)}")
    rng = random.Random(f"{task}-{digits}-{seed}")
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    tries = 0
    while len(out) < n_train + n_eval and tries < 50 * (n_train + n_eval):
        tries += 1
        a, op, b = _one(rng, task, digits)
        q = _question(a, op, b)
        if q in seen:
            continue
        seen.add(q)
        value = a + b if op == "+" else a - b if op == "-" else a * b
        out.append({"prompt": q, "answer": str(value), "language": language, "a": a, "op": op, "b": b})
    return out[n_eval:], out[:n_eval]


def trace(record: dict[str, Any], *, drop_carry: bool = False) -> str:
    """The R1-format reasoning trace of a synthetic record (the SFT target).

    Args:
        record: a synthetic record (``a``, ``op``, ``b``).
        drop_carry: write the trace of a weak teacher who forgets to carry (sums only; the answer is
            then wrong whenever a column overflows). The demo's cold-start data holds some of these:
            a systematic slip that the accuracy reward, not more imitation, teaches the model to fix.

    >>> trace({"a": 47, "op": "+", "b": 35})
    '<think>7 plus 5 is 12, carry 1. 4 plus 3 plus 1 is 8.</think><answer>82</answer>'
    >>> trace({"a": 47, "op": "+", "b": 35}, drop_carry=True)
    '<think>7 plus 5 is 12. 4 plus 3 is 7.</think><answer>72</answer>'
    """
    a, op, b = int(record["a"]), str(record["op"]), int(record["b"])
    if op == "+" and drop_carry:
        steps, value = _add_steps_no_carry(a, b)
    elif op == "+":
        steps = _add_steps(a, b)
        value = a + b
    elif op == "-":
        steps = _sub_steps(a, b)
        value = a - b
    else:
        steps = [f"{a} times {b} is {a * b}."]
        value = a * b
    return f"<think>{' '.join(steps)}</think><answer>{value}</answer>"


def _digits(n: int, width: int) -> list[int]:
    return [int(c) for c in str(n).zfill(width)][::-1]  # least significant first


def _add_steps(a: int, b: int) -> list[str]:
    width = max(len(str(a)), len(str(b)))
    da, db = _digits(a, width), _digits(b, width)
    steps, carry = [], 0
    for x, y in zip(da, db):
        total = x + y + carry
        words = f"{x} plus {y}" + (f" plus {carry}" if carry else "") + f" is {total}"
        carry = total // 10
        steps.append(words + (f", carry {carry}." if carry else "."))
    return steps


def _add_steps_no_carry(a: int, b: int) -> tuple[list[str], int]:
    width = max(len(str(a)), len(str(b)))
    da, db = _digits(a, width), _digits(b, width)
    sums = [x + y for x, y in zip(da, db)]
    steps = [f"{x} plus {y} is {t}." for x, y, t in zip(da, db, sums)]
    digits = "".join(str(t % 10) for t in sums[:-1][::-1])
    return steps, int(str(sums[-1]) + digits)


def _sub_steps(a: int, b: int) -> list[str]:
    width = len(str(a))
    da, db = _digits(a, width), _digits(b, width)
    steps, borrow = [], 0
    for x, y in zip(da, db):
        x2 = x - borrow
        borrow = 1 if x2 < y else 0
        words = f"{x2 + 10 * borrow} minus {y} is {x2 + 10 * borrow - y}"
        steps.append(words + (", borrow 1." if borrow else "."))
    return steps
