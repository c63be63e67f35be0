"""Load the real gold answers of ../shared/data/math (Qwen2.5-Math eval data, MIT) for tests and benchmarks."""

from __future__ import annotations

import json
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "math"
FILES = ("minerva_math", "olympiadbench", "amc23", "aime24", "gaokao2023en")


def last_boxed(text: str) -> str | None:
    from verifiers.math.extract import find_boxes

    boxes = find_boxes(text)
    return boxes[-1][2] if boxes else None


def load_golds(root: Path = SHARED) -> list[tuple[str, str]]:
    """(source, gold) for every record of the five competition files."""
    out: list[tuple[str, str]] = []
    for name in FILES:
        for line in (root / f"{name}.jsonl").read_text().splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if name == "minerva_math":
                gold = last_boxed(rec["solution"])
            elif name == "olympiadbench":
                gold = rec["final_answer"]
                gold = ",".join(gold) if isinstance(gold, list) else gold
            else:
                gold = rec["answer"]
            if isinstance(gold, float) and gold == int(gold):
                gold = str(int(gold))
            out.append((name, "" if gold is None else str(gold)))
    return out


def perturb(gold: str) -> str | None:
    """The gold with its first digit changed (d -> d+1 mod 10), or None when it has no digit."""
    m = re.search(r"\d", gold)
    if not m:
        return None
    d = str((int(m.group()) + 1) % 10)
    return gold[: m.start()] + d + gold[m.end():]
