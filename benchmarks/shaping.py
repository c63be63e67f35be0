"""Shaping rewards: completions per second per core at 2k and 8k characters, against peer-style checks.

Inputs are deterministic synthetic R1 completions (``<think>`` English prose with LaTeX ``</think>
<answer> ... </answer>``), with token ids from a word-level stand-in tokenizer (about 3 characters a
token) for the token-based rewards. Each cell is scored in this one process and timed in CPU time
(``time.process_time``: the machine is shared, so wall time would count other processes), best of
three rounds. Group rewards are timed per completion over groups of 8.

Peer columns are written here from the peers' descriptions (research notes, shaping.md §1), not copied:
- format:      open-r1 strict regex, anchored, DOTALL + MULTILINE (scores trailing text 1.0);
- format_soft: TRL think_format_reward (starts with <think>, no second <think>, has </think>);
- tag_count:   open-r1 tag_count_reward (0.25 per newline-exact tag occurring once);
- repetition:  open-r1 whitespace-split 3-gram penalty.

Target: >= 10,000 completions/s per core at 8k characters for the format-class rewards (format,
format_soft, tag_count), pass/fail column. Research notes §5 hoped for the same from overlong and
repetition; repetition is shown against it in the notes (pure-Python n-gram sets, no numpy).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.report import Table
from verifiers import REGISTRY, Reward, Sample

__all__ = ["make_completion", "run"]

TARGET_PER_S = 10_000
GROUP = 8
TARGETED = {"format", "format_soft", "tag_count"}

_SENTENCES = (
    "Let $x = {a}$ and $y = {b}$, so $x + y = {s}$.",
    "We need to simplify $\\frac{{{a}}}{{{b}}}$; the greatest common divisor of {a} and {b} matters here.",
    "Wait, let me double-check the computation: $\\sqrt{{{sq}}} = {r}$, which is what we had.",
    "Hmm, that does not look right. Going back to the equation ${a}x^2 + {b}x - {c} = 0$.",
    "So the discriminant is $\\Delta = b^2 - 4ac = {d}$, and it is positive, so there are two real roots.",
    "Alternatively, we could count the cases one by one: there are {a} ways for the first and {b} for the second.",
    "Therefore the probability is $\\dfrac{{{a}}}{{{s}}}$, since the events are independent.",
    "First, note that the sequence satisfies $a_{{n+1}} = {a} a_n + {b}$ for every $n \\ge 1$.",
    "Let me verify with a small case, $n = {c}$: the formula gives {s}, and counting directly also gives {s}.",
    "Now, by the triangle inequality, $|u + v| \\le |u| + |v|$, with equality when $u$ and $v$ point the same way.",
)

_SENTENCES_ZH = (
    "设 $x = {a}$，$y = {b}$，所以 $x + y = {s}$。",
    "等一下，我再检查一遍：$\\sqrt{{{sq}}} = {r}$，和之前的结果一致。",
    "嗯，这里好像不对。回到方程 ${a}x^2 + {b}x - {c} = 0$ 重新计算。",
    "所以判别式是 $\\Delta = {d}$，大于零，因此有两个实根。",
    "另一种方法是逐个数情况：第一步有 {a} 种选法，第二步有 {b} 种。",
    "因此概率是 $\\dfrac{{{a}}}{{{s}}}$，因为这两个事件相互独立。",
)


def make_completion(chars: int, seed: int, *, lang: str = "en") -> str:
    """A deterministic R1-format completion of exactly `chars` characters: prose with LaTeX, in English
    (``lang="en"``) or Chinese (``lang="zh"``)."""
    rng = random.Random(seed)
    sentences = _SENTENCES_ZH if lang == "zh" else _SENTENCES
    answer = str(rng.randint(1, 999))
    shell = f"<think>\n\n</think>\n<answer>\n\\boxed{{{answer}}}\n</answer>"
    body: list[str] = []
    size = 0
    while size < chars - len(shell):
        a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 40)
        s = rng.choice(sentences).format(a=a, b=b, c=c, s=a + b, sq=c * c, r=c, d=b * b + 4 * a * c)
        body.append(s + ("\n\n" if rng.random() < 0.2 else "" if lang == "zh" else " "))
        size += len(body[-1])
    cot = "".join(body)[: chars - len(shell)].rstrip() + "."
    cot = cot[: chars - len(shell)]
    return f"<think>\n{cot}\n</think>\n<answer>\n\\boxed{{{answer}}}\n</answer>"


def _token_ids(text: str, vocab: dict[str, int]) -> list[int]:
    """A stand-in tokenizer: each word piece of <= 4 characters, or punctuation mark, is one id."""
    ids = []
    for word in re.findall(r"\w+|[^\w\s]", text):
        for i in range(0, len(word), 4):
            ids.append(vocab.setdefault(word[i : i + 4], len(vocab)))
    return ids


# -- peer-style checks (from their descriptions) -------------------------------------------------

_PEER_FORMAT = re.compile(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$", re.DOTALL | re.MULTILINE)
_PEER_THINK = re.compile(r"^<think>(?!.*<think>)(.*?)</think>.*$", re.DOTALL)


def peer_format(text: str) -> float:
    return 1.0 if _PEER_FORMAT.match(text) else 0.0


def peer_think_format(text: str) -> float:
    return 1.0 if _PEER_THINK.match(text) else 0.0


def peer_tag_count(text: str) -> float:
    return sum(
        0.25 for tag in ("<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>") if text.count(tag) == 1
    )


def peer_repetition(text: str, n: int = 3, max_penalty: float = -1.0) -> float:
    words = text.lower().split()
    if len(words) < n:
        return 0.0
    grams = set(zip(*(words[i:] for i in range(n))))
    return (1 - len(grams) / (len(words) - n + 1)) * max_penalty


# -- timing ---------------------------------------------------------------------------------------


def _rate(fn: Callable[[], int], min_cpu_s: float) -> float:
    """Items per CPU second of `fn` (which returns how many items it scored), best of 3 rounds."""
    best = 0.0
    for _ in range(3):
        done, t0 = 0, time.process_time()
        while True:
            done += fn()
            dt = time.process_time() - t0
            if dt >= min_cpu_s:
                break
        best = max(best, done / dt)
    return best


def _ours(reward: Reward, samples: Sequence[Sample]) -> Callable[[], int]:
    if reward.scope == "group":
        groups = [samples[i : i + GROUP] for i in range(0, len(samples), GROUP)]

        def score_groups() -> int:
            for g in groups:
                reward.score_group(g)
            return len(samples)

        return score_groups

    def score_each() -> int:
        score = reward.score
        for s in samples:
            score(s)
        return len(samples)

    return score_each


def _peer(fn: Callable[[str], float], texts: Sequence[str]) -> Callable[[], int]:
    def run_peer() -> int:
        for t in texts:
            fn(t)
        return len(texts)

    return run_peer


def _cases() -> list[tuple[str, Reward, Callable[[str], float] | None, bool]]:
    """(row label, reward, peer function or None, use token ids)."""
    return [
        ("format", REGISTRY.create("format"), peer_format, False),
        ("format_soft", REGISTRY.create("format_soft"), peer_think_format, False),
        ("tag_count", REGISTRY.create("tag_count"), peer_tag_count, False),
        ("overlong", REGISTRY.create("overlong", max_length=1500, cache_length=500), None, True),
        ("repetition (tokens)", REGISTRY.create("repetition"), None, True),
        ("repetition (text)", REGISTRY.create("repetition", unit="text"), peer_repetition, False),
        ("repetition (text, zh)", REGISTRY.create("repetition", unit="text"), peer_repetition, False),
        ("length (Kimi, group of 8)", REGISTRY.create("length"), None, True),
        ("cosine_length", REGISTRY.create("cosine_length", max_length=1500), None, True),
    ]


def _samples(chars: int, n: int) -> tuple[list[Sample], list[Sample]]:
    vocab: dict[str, int] = {}
    texts = [make_completion(chars, seed) for seed in range(n)]
    with_ids = [
        Sample(
            completion=t, completion_ids=_token_ids(t, vocab), group=i // GROUP, extra={"correct": i % 3 != 0}
        )
        for i, t in enumerate(texts)
    ]
    plain = [Sample(completion=t, group=i // GROUP) for i, t in enumerate(texts)]
    return plain, with_ids


def _speed_table(quick: bool) -> Table:
    n = 16 if quick else 128
    min_cpu_s = 0.006 if quick else 0.25
    rows: list[list[Any]] = []
    figures: dict[str, Any] = {}
    tokens_per_char: dict[int, float] = {}
    for chars in (2000, 8000):
        plain, with_ids = _samples(chars, n)
        zh = [Sample(completion=make_completion(chars, seed, lang="zh")) for seed in range(n)]
        tokens_per_char[chars] = sum(len(s.completion_ids or ()) for s in with_ids) / (chars * n)
        for label, reward, peer, use_ids in _cases():
            samples = with_ids if use_ids else zh if label.endswith("zh)") else plain
            ours = _rate(_ours(reward, samples), min_cpu_s)
            theirs = _rate(_peer(peer, [s.completion for s in samples]), min_cpu_s) if peer else float("nan")
            target = label in TARGETED
            verdict = ("pass" if ours >= TARGET_PER_S else "FAIL") if target and chars == 8000 else "-"
            rows.append(
                [label, f"{chars // 1000}k", ours, theirs, ours / theirs if peer else float("nan"), verdict]
            )
            key = label.split(" (")[0] + {"(tokens)": "_tokens", "(text)": "_text", "zh)": "_text_zh"}.get(
                label.rsplit(" ", 1)[-1], ""
            )
            figures[f"{key}_{chars // 1000}k_per_s"] = round(ours)
            if peer is not None and chars == 8000:
                figures[f"{key}_8k_vs_peer"] = round(ours / theirs, 2)
    fails = [r[0] for r in rows if r[-1] == "FAIL"]
    figures["target_per_s"] = TARGET_PER_S
    figures["targets_failed"] = fails
    rep8 = min(figures["repetition_tokens_8k_per_s"], figures["repetition_text_8k_per_s"])
    notes = [
        f"Target: >= {TARGET_PER_S:,} completions/s per core at 8k characters for format, format_soft and "
        f"tag_count; {'all pass' if not fails else 'FAILED: ' + ', '.join(fails)}.",
        f"Research notes §5 also aimed at {TARGET_PER_S:,}/s for overlong and repetition: overlong "
        f"{'meets' if figures['overlong_8k_per_s'] >= TARGET_PER_S else 'misses'} it; repetition "
        f"{'meets' if rep8 >= TARGET_PER_S else 'misses'} it ({rep8:,}/s at 8k: a set of n-gram tuples costs "
        "~100 ns per n-gram in CPython; the peer's whitespace split is no faster on English and blind on Chinese).",
        "Single process, CPU time (time.process_time), best of 3 rounds; ours includes building the RewardResult, "
        "the peer column is a bare function returning a float.",
        f"{n} distinct completions per size; token ids from a stand-in word-piece tokenizer "
        f"({tokens_per_char[2000]:.2f} and {tokens_per_char[8000]:.2f} ids per character).",
        "Peer columns are written from the peers' descriptions (open-r1 format/tag_count/repetition, TRL "
        "think_format_reward); they are faster where they check less (see the hack table).",
    ]
    if quick:
        notes.append("QUICK run: few rounds, noisy; the full run is the figure to quote.")
    return Table(
        title="Shaping rewards: completions per second per core",
        columns=["reward", "size", "ours /s", "peer-style /s", "ours/peer", "target >=10k/s @8k"],
        rows=rows,
        notes=notes,
        figures=figures,
    )


def _hack_table(quick: bool) -> Table:
    """Share of completions scored as perfect (1.0) by ours and by the peer-style checks."""
    base = [make_completion(2000, seed) for seed in range(10 if quick else 50)]
    variants = {
        "clean R1 format": base,
        "trailing text after </answer>": [t + "\nActually the answer is 7.\nDone." for t in base],
        "block duplicated": [t + "\n" + t for t in base],
        "prefilled <think> (completion lacks it)": [t.removeprefix("<think>") for t in base],
    }
    ours_plain = REGISTRY.create("format")
    ours_prefill = REGISTRY.create("format", think_prefilled=True)
    tag_prefill = REGISTRY.create("tag_count", think_prefilled=True)
    rows: list[list[Any]] = []
    for label, texts in variants.items():
        fmt = ours_prefill if label.startswith("prefilled") else ours_plain
        ours = sum(fmt.score(Sample(completion=t)).score == 1.0 for t in texts) / len(texts)
        peer = sum(peer_format(t) == 1.0 for t in texts) / len(texts)
        tag_ours = tag_peer = float("nan")
        if label.startswith("prefilled"):
            tag_ours = sum(tag_prefill.score(Sample(completion=t)).score or 0.0 for t in texts) / len(texts)
            tag_peer = sum(peer_tag_count(t) for t in texts) / len(texts)
        rows.append([label, ours, peer, tag_ours, tag_peer])
    return Table(
        title="Format: share scored 1.0 (ours vs open-r1-style regex), and mean tag_count on prefilled completions",
        columns=["variant", "format ours", "format peer", "tag_count ours", "tag_count peer"],
        rows=rows,
        notes=[
            "Clean and prefilled completions should score 1.0; trailing text and duplicated blocks should score 0.",
            "The peer's MULTILINE `$` accepts trailing text and duplicated blocks; it cannot accept a prefilled "
            "<think> (open-r1 #560, trl #6966) and its tag_count caps prefilled completions at 0.75.",
        ],
        figures={
            "format_hack_accept_ours": max(r[1] for r in rows[1:3]),
            "format_hack_accept_peer": max(r[2] for r in rows[1:3]),
        },
    )


def run(quick: bool = False) -> list[Table]:
    """Speed table (ours vs peer-style, per core) and the format-hack table."""
    return [_speed_table(quick), _hack_table(quick)]
