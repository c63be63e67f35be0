"""Build the labelled mixed-language CoT set for the language-consistency reward.

    python tests/data/language/build.py        # rewrites tests/data/language/cots.jsonl

Deterministic (seeded). Each record: ``completion`` (an R1-style completion), ``language`` (the
target), ``ratio`` (true share of target-language units in its chain of thought), ``split``
(``dev`` or ``heldout``), plus ``think`` (how the CoT is delimited) and ``mix`` (the mixing rate drawn).

How a sample is made: 4-24 sentences from the target's pool; each slot is, with probability `mix`
(0 for 30 % of samples, else U(0.02, 0.5)), replaced by a foreign sentence or prefixed with a
foreign interjection ("Wait,", "所以，"). LaTeX (inline, display, environments, boxed, bare commands)
follows 30 % of sentences and a code block or inline code 5 %. Every segment carries its language
label (None for LaTeX/code), and the true ratio counts units per segment with the unit definition of
`verifiers._lang.scripts` (re-implemented here, independently, for clean pool text).

*dev* samples draw from ``pool_dev.txt``; *heldout* samples only from ``pool_heldout.txt``, whose
sentences, interjections and two extra languages (Italian, Dutch: no lexicon) were never used to tune.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "cots.jsonl"
SEED = 20250121
TARGETS = ("en", "zh", "ja", "fr", "de", "ru", "es")
N = {"dev": 300, "heldout": 560}

_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_CYR = "\u0400-\u04ff"
_WORDS = re.compile(f"[{_LATIN}]+(?:['’][{_LATIN}]+)*|[{_CYR}]+(?:['’][{_CYR}]+)*")
_CJK = re.compile(
    "[\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff]"
)

LATEX = [
    "$x^2 + {b}x - {c} = 0$",
    "$$\\frac{{{a}}}{{{b}}} = {c}$$",
    "\\[ S_n = \\sum_{{k=1}}^{{n}} k^2 = \\frac{{n(n+1)(2n+1)}}{{6}} \\]",
    "$\\binom{{{a}}}{{2}} = {c}$",
    "\\begin{{aligned}} 2x + 3y &= {a} \\\\ x - y &= {b} \\end{{aligned}}",
    "\\(\\sqrt{{{a}}} \\approx {b}.{c}\\)",
    "$$\\int_0^1 x^{{{b}}}\\,dx = \\frac{{1}}{{{c}}}$$",
    "\\boxed{{{c}}}",
    "\\frac{{1}}{{2}}",
    "$f'(x) = 3x^2 - {b}$",
    "$\\text{{area}} = \\pi r^2$",
    "$a_{{n+1}} = a_n + {b}$",
]
CODE = [
    "```python\ndef solve(n):\n    total = 0\n    for i in range(n):\n        if i % 2 == 0:\n            total += i\n    return total\nprint(solve({a}))\n```",
    "```\nfor k in range({b}):\n    print(k * k)\n```",
    "```python\nimport math\nresult = math.comb({a}, {b})\n```",
    "`sum(range({a}))`",
    "`np.linalg.solve(A, b)`",
]


def units(text: str) -> int:
    """Units of clean pool text: CJK characters, plus words of 2+ letters that are not short acronyms."""
    words = [w for w in _WORDS.findall(text) if len(w) > 1 and not (len(w) <= 5 and w.isupper())]
    return len(words) + len(_CJK.findall(text))


def load_pool(path: Path) -> dict[str, list[str]]:
    pool: dict[str, list[str]] = {}
    key = None
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            key = line[1:-1]
            pool.setdefault(key, [])
        elif key is None:
            raise ValueError(f"{path}:{n}: a sentence before any [section]")
        else:
            pool[key].append(line)
    return pool


def fill(rng: random.Random, template: str) -> str:
    return template.format(a=rng.randint(2, 999), b=rng.randint(2, 99), c=rng.randint(2, 9999))


def foreign_language(rng: random.Random, target: str, langs: list[str]) -> str:
    others = [lang for lang in langs if lang != target]
    if target != "en" and rng.random() < 0.4:
        return "en"  # English is the usual intruder in non-English CoTs
    return rng.choice(others)


def sample(rng: random.Random, pool: dict[str, list[str]], target: str) -> dict:
    langs = sorted(k for k in pool if ":" not in k)
    mix = 0.0 if rng.random() < 0.3 else rng.uniform(0.02, 0.5)
    segments: list[tuple[str, str | None]] = []
    for _ in range(rng.randint(4, 24)):
        if rng.random() < mix:
            lang = foreign_language(rng, target, langs)
            if rng.random() < 0.7 or f"{lang}:interjections" not in pool:
                segments.append((fill(rng, rng.choice(pool[lang])), lang))
            else:
                segments.append((rng.choice(pool[f"{lang}:interjections"]), lang + ":interjection"))
                segments.append((fill(rng, rng.choice(pool[target])), target))
        else:
            segments.append((fill(rng, rng.choice(pool[target])), target))
        if rng.random() < 0.3:
            segments.append((fill(rng, rng.choice(LATEX)), None))
        if rng.random() < 0.05:
            segments.append((fill(rng, rng.choice(CODE)), None))
    parts = []
    total = hits = 0
    for i, (text, label) in enumerate(segments):
        lang = label.split(":")[0] if label else None
        if lang is not None:
            n = units(text)
            total += n
            hits += n if lang == target else 0
        if i:
            prev, prev_label = segments[i - 1]
            if prev_label and prev_label.endswith(":interjection"):  # an interjection prefixes its sentence
                parts.append("" if prev[-1] in "，、。" else " ")
            elif text.startswith("```") or prev.startswith("```"):
                parts.append("\n")
            else:
                parts.append(rng.choice([" ", " ", " ", "\n", "\n\n"]))
        parts.append(text)
    cot = "".join(parts)
    answer = fill(rng, rng.choice(pool[rng.choice([target, "en"])]))
    think = rng.choices(["tags", "prefilled", "none"], weights=[85, 10, 5])[0]
    if think == "tags":
        completion = f"<think>\n{cot}\n</think>\n\n{answer}"
    elif think == "prefilled":
        completion = f"{cot}\n</think>\n\n{answer}"
    else:
        completion = cot
    return {
        "completion": completion,
        "language": target,
        "ratio": hits / total,
        "think": think,
        "mix": round(mix, 4),
    }


def build() -> list[dict]:
    rng = random.Random(SEED)
    records = []
    for split, path in (("dev", HERE / "pool_dev.txt"), ("heldout", HERE / "pool_heldout.txt")):
        pool = load_pool(path)
        for i in range(N[split]):
            rec = sample(rng, pool, TARGETS[i % len(TARGETS)])
            rec["split"] = split
            records.append(rec)
    return records


def main() -> None:
    records = build()
    with OUT.open("w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} records to {OUT}")


if __name__ == "__main__":
    main()
