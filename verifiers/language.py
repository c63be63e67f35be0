"""Language consistency: the share of target-language units in the chain of thought (DeepSeek-R1).

DeepSeek-R1 (arXiv 2501.12948, section 2.3.2) adds to accuracy a reward equal to "the proportion of
target-language words in the CoT". This module computes that proportion so it is right where
whole-text language ID is wrong: mixed text, minority scripts, short interjections, math and code.

How (see ``shared/research/shaping.md`` section 3 for the measurements behind each step):

1. The CoT is the text before ``</think>`` (``<think>`` may be prefilled by the chat template);
   a completion with no think tags at all is taken whole (``info["cot"] == "whole"``).
2. Non-language spans are masked: code, LaTeX, URLs, e-mails, code-like identifiers (`_lang.mask`).
3. The text is cut into same-script runs; units are words, or characters for Han, Kana and Thai;
   digits, one-letter words and short all-caps acronyms are not units (`_lang.scripts`).
4. The script labels a run when only one language writes it: Han is Chinese (Japanese when its
   sentence holds Kana), Kana Japanese, Hangul Korean, Greek, Hebrew, Thai... A run in a shared
   script (Latin, Cyrillic, Arabic, Devanagari) that is not the target's script is non-target, with
   no model call: all zh/ja/ko/ru-vs-English mixing is decided by script alone.
5. Runs in the target's shared script (e.g. English inside a French CoT) are labelled per sentence by
   a function-word vote (`_lang.lexicon`); only an undecided sentence of at least 5 words goes to
   langdetect (private seeded factory, target prior, at most `max_detect_calls` calls per text).
   Short undecided sentences take the label of the nearest decided one. A short comma clause made
   only of another language's function words ("Wait, ...") is relabelled to that language.
6. score = target units / all units; None (reason ``no_language_units``) when there are none.

Results are deterministic: identical across runs, threads and processes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verifiers._lang import detect as _detect
from verifiers._lang.lexicon import COVERED, LETTERS, LEXICON, MARKERS
from verifiers._lang.mask import mask
from verifiers._lang.scripts import LANGUAGE_SCRIPT, RUN, SCRIPTS, WORD, Script, count_units
from verifiers.errors import ConfigError
from verifiers.registry import register
from verifiers.text import THINK_CLOSE, THINK_OPEN, split_think
from verifiers.types import Reason, Reward, RewardResult, Sample

__all__ = [
    "SUPPORTED_LANGUAGES",
    "LanguageConsistency",
    "LanguageCount",
    "chain_of_thought",
    "language_ratio",
    "normalize_language",
]

NO_LANGUAGE_UNITS = "no_language_units"
UNSUPPORTED_LANGUAGE = "unsupported_language"

SUPPORTED_LANGUAGES: frozenset[str] = frozenset(LANGUAGE_SCRIPT)
"""Target codes accepted (langdetect's 55 languages; Chinese is ``zh``)."""

_ALIASES = {
    "zh-cn": "zh",
    "zh-tw": "zh",
    "zh-hans": "zh",
    "zh-hant": "zh",
    "cn": "zh",
    "jp": "ja",
    "kr": "ko",
    "iw": "he",
    "nb": "no",
    "nn": "no",
}

# Languages langdetect may return for a run of a shared script (others get prior 0). The target always
# joins the list with half of the prior mass: CoTs are mostly in their target language.
_CANDIDATES = {
    "latin": ("en", "fr", "de", "es", "it", "pt", "nl", "ca", "ro", "pl", "tr", "id", "vi", "sv", "da"),
    "cyrillic": ("ru", "uk", "bg", "mk"),
    "arabic": ("ar", "fa", "ur"),
    "devanagari": ("hi", "mr", "ne"),
}
_MIN_DETECT_WORDS = 5
"""An undecided sentence run needs this many words to get its own langdetect call."""
_MIN_EVIDENCE = 0.2
"""A vote counts only when its evidence (lexicon words + exclusive letters) is this share of the run's words."""
_MAX_CLAUSE_WORDS = 3
"""A comma clause of at most this many words can be relabelled by the function-word vote."""


def normalize_language(code: str) -> str | None:
    """The supported language code for `code` (case, region and aliases ignored), or None.

    >>> normalize_language("zh-CN"), normalize_language("en_US"), normalize_language("xx")
    ('zh', 'en', None)
    """
    c = code.strip().lower().replace("_", "-")
    c = _ALIASES.get(c, c)
    if c not in SUPPORTED_LANGUAGES:
        c = _ALIASES.get(c.split("-")[0], c.split("-")[0])
    return c if c in SUPPORTED_LANGUAGES else None


def chain_of_thought(completion: str, *, think_prefilled: bool = False) -> tuple[str, str]:
    """The text the reward reads, and where it came from (``"think"`` or ``"whole"``).

    The CoT is the text inside the think block. A completion holding ``</think>`` but no ``<think>``
    is read as prefilled even when `think_prefilled` is False; one with no think tag is taken whole.

    >>> chain_of_thought("<think>Hmm.</think> 4")
    ('Hmm.', 'think')
    >>> chain_of_thought("Hmm.</think> 4")
    ('Hmm.', 'think')
    """
    prefilled = think_prefilled or (THINK_CLOSE in completion and THINK_OPEN not in completion)
    cot, _rest = split_think(completion, think_prefilled=prefilled)
    if cot is None:
        return completion, "whole"
    return cot, "think"


@dataclass(frozen=True)
class LanguageCount:
    """Units of a text by label. Labels are language codes, or a script name for non-target runs of a
    shared script (``"latin"``, ``"cyrillic"``) or for an unsupported script (``"other"``)."""

    target: str
    """The target language."""
    by_label: Mapping[str, int] = field(default_factory=dict)
    """Label -> number of units."""
    detect_calls: int = 0
    """How many langdetect calls were made."""

    @property
    def units(self) -> int:
        """All language units."""
        return sum(self.by_label.values())

    @property
    def target_units(self) -> int:
        """Units labelled with the target language."""
        return self.by_label.get(self.target, 0)

    @property
    def ratio(self) -> float | None:
        """Target units / all units, or None when there are no units."""
        n = self.units
        return self.target_units / n if n else None


class _Run:
    """A sentence run in the target's (shared) script, waiting for its label."""

    __slots__ = ("units", "label", "clauses")

    def __init__(self, units: int, text: str) -> None:
        self.units = units
        self.label: str | None = None
        self.clauses = text


def _units(script: Script, words: list[str]) -> list[str]:
    """The words that are units (drops one-letter words and short acronyms in variable scripts)."""
    if script.variables:
        return [w for w in words if len(w) > 1 and not (len(w) <= 5 and w.isupper())]
    return words


def language_ratio(text: str, target: str, *, max_detect_calls: int = 32) -> LanguageCount:
    """Count the language units of `text` (a CoT) by language, relative to `target`.

    Args:
        text: the chain of thought.
        target: a supported language code (see `normalize_language`).
        max_detect_calls: langdetect calls allowed for this text; past it, undecided sentences
            inherit their neighbours' label.

    Returns:
        a `LanguageCount`; its ``ratio`` is the score.

    >>> language_ratio("好的, let me compute the sum. 所以答案是 5。", "zh").by_label
    {'latin': 5, 'zh': 7}
    """
    lang = normalize_language(target)
    if lang is None:
        raise ConfigError(f"unsupported target language {target!r}; use one of {sorted(SUPPORTED_LANGUAGES)}")
    tscript = LANGUAGE_SCRIPT[lang]
    masked = mask(text)
    counts: dict[str, int] = {}
    runs: list[_Run] = []  # runs of the target's script when that script is shared
    same_script = len(tscript.languages) > 1
    han = kana = 0  # units of the current sentence
    for m in RUN.finditer(masked):
        group = m.lastgroup
        if group == "gap":
            continue
        if group == "end":
            if han:
                label = "ja" if kana else "zh"
                counts[label] = counts.get(label, 0) + han
                han = 0
            if kana:
                counts["ja"] = counts.get("ja", 0) + kana
                kana = 0
            continue
        if group == "han":
            han += m.end() - m.start()
            continue
        if group == "kana":
            kana += m.end() - m.start()
            continue
        script = _BY_NAME[group]  # type: ignore[index]
        run = m.group()
        if script.unit == "char":
            n = len(run)
            label = script.languages[0]
        else:
            n = count_units(script, run)
            if not n:
                continue
            if script is tscript and same_script:
                runs.append(_Run(n, run))
                continue
            label = script.languages[0] if len(script.languages) == 1 else script.name
        counts[label] = counts.get(label, 0) + n
    if han:
        label = "ja" if kana else "zh"
        counts[label] = counts.get(label, 0) + han
    if kana:
        counts["ja"] = counts.get("ja", 0) + kana
    calls = _label_runs(runs, lang, tscript, max_detect_calls, counts) if runs else 0
    return LanguageCount(lang, counts, calls)


_BY_NAME = {s.name: s for s in SCRIPTS}


def _vote(
    run: _Run, script: Script, allowed: frozenset[str], letters: Mapping[str, str]
) -> tuple[dict[str, float], int]:
    """Weighted votes per language and the number of pieces of evidence.

    A lexicon word held by k allowed languages gives 1/k vote to each; an exclusive letter gives one.
    """
    votes: dict[str, float] = {}
    evidence = 0
    for w in _units(script, WORD[script.name].findall(run.clauses)):
        langs = MARKERS.get(w.lower().replace("’", "'"))
        if langs:
            mine = [lang for lang in langs if lang in allowed]
            if mine:
                evidence += 1
                share = 1.0 / len(mine)
                for lang in mine:
                    votes[lang] = votes.get(lang, 0.0) + share
    for lang, chars in letters.items():
        if lang in allowed:
            k = sum(run.clauses.count(c) for c in chars)
            if k:
                evidence += k
                votes[lang] = votes.get(lang, 0.0) + k
    return votes, evidence


def _decide(votes: dict[str, float], evidence: int, n: int, target: str) -> str | None:
    """The vote's winner when it is clear, the target when it ties for first, else None (undecided)."""
    if not votes:
        return None
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    best, cb = ranked[0]
    c2 = ranked[1][1] if len(ranked) > 1 else 0.0
    dense = n <= 4 or evidence >= _MIN_EVIDENCE * n
    if not dense:
        return None
    if cb >= 2 * c2:
        return best
    if votes.get(target, 0.0) >= cb:
        return target
    return None


def _label_runs(runs: list[_Run], target: str, script: Script, max_calls: int, counts: dict[str, int]) -> int:
    allowed = frozenset(script.languages)
    candidates = set(_CANDIDATES.get(script.name, script.languages)) | {target}
    others = len(candidates) - 1
    prior = {c: (0.5 if c == target else 0.5 / others) for c in candidates} if others else None
    calls = 0
    letters = LETTERS.get(script.name, {})
    covered = script.name in COVERED
    if covered and not _other_evidence(runs, target, script):
        # Every language that could write this script has markers, and none but the target's showed up.
        for run in runs:
            counts[target] = counts.get(target, 0) + run.units
        return 0
    for run in runs:
        votes, evidence = _vote(run, script, allowed, letters)
        run.label = _decide(votes, evidence, run.units, target)
        if run.label is None and covered and all(lang == target for lang in votes):
            run.label = target  # no evidence for any other language that could write this script
    for run in runs:
        if run.label is None and run.units >= _MIN_DETECT_WORDS and calls < max_calls:
            calls += 1
            run.label = _detect.detect(run.clauses, prior)
    # Short undecided runs: nearest decided run before them, else after, else the target.
    last: str | None = None
    pending: list[_Run] = []
    for run in runs:
        if run.label is None:
            pending.append(run)
            continue
        for p in pending:
            p.label = last or run.label
        pending = []
        last = run.label
    for p in pending:
        p.label = last or target
    for run in runs:
        label = run.label or target
        n = run.units
        if "," in run.clauses and n > 1:
            n -= _relabel_clauses(run, label, script, counts)
        counts[label] = counts.get(label, 0) + n
    return calls


@functools.lru_cache(maxsize=64)
def _other_markers(target: str, script_name: str) -> tuple[frozenset[str], re.Pattern[str] | None]:
    """Lexicon words and exclusive letters that point to a language of the script other than `target`."""
    others = [lang for lang in _BY_NAME[script_name].languages if lang != target]
    own = LEXICON.get(target, frozenset())
    words = frozenset().union(*(LEXICON.get(lang, frozenset()) for lang in others)) - own
    chars = "".join(LETTERS.get(script_name, {}).get(lang, "") for lang in others)
    return words, (re.compile(f"[{re.escape(chars)}]") if chars else None)


def _other_evidence(runs: list[_Run], target: str, script: Script) -> bool:
    """Whether any run shows a marker of another language of the script (one pass over all runs)."""
    words, letters = _other_markers(target, script.name)
    text = " ".join(run.clauses for run in runs)
    if letters is not None and letters.search(text):
        return True
    return not words.isdisjoint(WORD[script.name].findall(text.lower().replace("’", "'")))


def _relabel_clauses(run: _Run, label: str, script: Script, counts: dict[str, int]) -> int:
    """Move short comma clauses written only in another language's function words ("Wait, ...").

    A clause of at most `_MAX_CLAUSE_WORDS` units whose every word is in the lexicons of some language
    set L that excludes the run's `label` is counted for the first language of L. Returns units moved.
    """
    allowed = frozenset(script.languages)
    moved = 0
    for clause in run.clauses.split(","):
        tokens = _units(script, WORD[script.name].findall(clause))
        if not tokens or len(tokens) > _MAX_CLAUSE_WORDS:
            continue
        common: set[str] = set()
        for i, t in enumerate(tokens):
            langs = set(MARKERS.get(t.lower().replace("’", "'"), ())) & allowed
            common = langs if i == 0 else common & langs
            if not common:
                break
        if common and label not in common:
            new = min(common, key=lambda c: (_ORDER.index(c) if c in _ORDER else len(_ORDER), c))
            counts[new] = counts.get(new, 0) + len(tokens)
            moved += len(tokens)
    return moved


_ORDER = ("en", "de", "fr", "es", "pt", "ru", "uk")


@register("language")
class LanguageConsistency(Reward):
    """Share of target-language units in the chain of thought (DeepSeek-R1's language-consistency reward).

    Args:
        language: default target language for samples without a ``language`` field (e.g. ``"zh"``);
            None means every sample must carry one. An unsupported code raises `ConfigError`; an
            unsupported code in a sample gives None with reason ``unsupported_language``.
        think_prefilled: True when the chat template put ``<think>`` in the prompt (the completion
            starts inside the think block). A completion with ``</think>`` but no ``<think>`` is read
            that way anyway.
        max_detect_calls: langdetect calls allowed per completion (only same-script mixing uses any).

    Score: target units / all language units of the CoT, in [0, 1]. None with reason
    ``no_language_units`` for a CoT of pure math or code. ``info`` holds ``units`` (label -> count),
    ``target``, ``cot`` (``"think"`` or ``"whole"``) and ``detect_calls``.

    >>> reward = LanguageConsistency(language="zh")
    >>> reward.score(Sample("<think>好的, let me compute the sum. 所以答案是 5。</think> 5")).score
    0.5833333333333334
    """

    heavy = True
    default_deadline = 10.0
    score_range = (0.0, 1.0)

    def __init__(
        self, *, language: str | None = None, think_prefilled: bool = False, max_detect_calls: int = 32
    ) -> None:
        if language is not None:
            code = normalize_language(language) if isinstance(language, str) else None
            if code is None:
                raise ConfigError(
                    f"language reward: unsupported language {language!r}; expected a code such as 'en', 'zh', "
                    f"'fr' (supported: {', '.join(sorted(SUPPORTED_LANGUAGES))})"
                )
            language = code
        if (
            not isinstance(max_detect_calls, int)
            or isinstance(max_detect_calls, bool)
            or max_detect_calls < 0
        ):
            raise ConfigError(
                f"language reward: max_detect_calls must be an integer >= 0, got {max_detect_calls!r}"
            )
        self.language = language
        self.think_prefilled = bool(think_prefilled)
        self.max_detect_calls = max_detect_calls

    def score(self, sample: Sample) -> RewardResult:
        given = sample.language if sample.language is not None else self.language
        if given is None:
            return RewardResult.cannot_judge(Reason.MISSING_FIELD, field="language")
        target = normalize_language(given)
        if target is None:
            return RewardResult.cannot_judge(UNSUPPORTED_LANGUAGE, language=given)
        cot, where = chain_of_thought(sample.completion, think_prefilled=self.think_prefilled)
        count = language_ratio(cot, target, max_detect_calls=self.max_detect_calls)
        info: dict[str, Any] = {
            "target": target,
            "units": dict(sorted(count.by_label.items())),
            "cot": where,
            "detect_calls": count.detect_calls,
        }
        ratio = count.ratio
        if ratio is None:
            return RewardResult(None, NO_LANGUAGE_UNITS, info)
        return RewardResult(float(ratio), Reason.OK, info)
