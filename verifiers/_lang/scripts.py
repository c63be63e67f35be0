"""Unicode scripts: which characters belong to which script, how a script is cut into units, which
languages write it, and one linear regex that cuts text into same-script runs.

Unit definition (shared with the test-set generator `tests/data/language/build.py`):

- space-delimited scripts (Latin, Cyrillic, Greek, Hebrew, Arabic, Hangul, Indic): one unit per word.
  A word is a maximal letter run, joined over an apostrophe (``don't``, ``l'équation``); hyphens split.
  In Latin, Cyrillic and Greek, one-letter words (variables: x, n, α) and all-caps words of at most
  5 letters (acronyms: GCD, OK) are not units.
- Han, Kana and Thai (no spaces between words): one unit per character.
- Digits, punctuation and masked spans (code, LaTeX, URLs; see `mask.py`) are not units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LANGUAGE_SCRIPT", "RUN", "SCRIPTS", "WORD", "Script", "count_units"]

# Character classes. Written as explicit ranges (no \w) so every pattern below is linear.
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_HAN = "\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KANA = "\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9d"


@dataclass(frozen=True)
class Script:
    """One script: its regex group name, character class, unit kind and the languages written in it."""

    name: str
    """Group name in `RUN`, e.g. ``"latin"``."""
    chars: str
    """Character class body (no brackets)."""
    unit: str
    """``"word"`` (one unit per word) or ``"char"`` (one unit per character)."""
    languages: tuple[str, ...]
    """Languages (langdetect codes; ``zh`` for Chinese) written in this script. One language = no model needed."""
    variables: bool = False
    """True where one-letter words are variables and short all-caps words are acronyms (not units)."""
    upper: str = ""
    """Character class body of the script's capital letters (for the acronym rule)."""


SCRIPTS: tuple[Script, ...] = (
    Script("han", _HAN, "char", ("zh",)),  # ja when the sentence also holds Kana (see language.py)
    Script("kana", _KANA, "char", ("ja",)),
    Script("thai", "\u0e01-\u0e3a\u0e40-\u0e4e", "char", ("th",)),
    Script(
        "latin",
        _LATIN,
        "word",
        (
            "en",
            "fr",
            "de",
            "es",
            "it",
            "pt",
            "nl",
            "ca",
            "ro",
            "pl",
            "tr",
            "id",
            "vi",
            "sv",
            "da",
            "no",
            "fi",
            "cs",
            "sk",
            "sl",
            "hr",
            "hu",
            "et",
            "lt",
            "lv",
            "sq",
            "so",
            "sw",
            "tl",
            "af",
            "cy",
        ),
        variables=True,
        upper="A-Z\u00c0-\u00d6\u00d8-\u00de",
    ),
    Script(
        "cyrillic",
        "\u0400-\u0481\u048a-\u04ff\u0500-\u052f",
        "word",
        ("ru", "uk", "bg", "mk"),
        True,
        "\u0400-\u042f",
    ),
    Script("greek", "\u0386\u0388-\u03ff\u1f00-\u1ffc", "word", ("el",), True, "\u0386\u0388-\u03ab"),
    Script("hebrew", "\u05d0-\u05ea\u05f0-\u05f2\u0591-\u05c7", "word", ("he",)),
    Script(
        "arabic",
        "\u0620-\u064a\u064b-\u065f\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f",
        "word",
        ("ar", "fa", "ur"),
    ),
    Script("devanagari", "\u0900-\u0963\u0971-\u097f", "word", ("hi", "mr", "ne")),
    Script("bengali", "\u0980-\u09e3\u09f0-\u09f1", "word", ("bn",)),
    Script("gurmukhi", "\u0a00-\u0a63\u0a70-\u0a75", "word", ("pa",)),
    Script("gujarati", "\u0a80-\u0ae3", "word", ("gu",)),
    Script("tamil", "\u0b80-\u0be3", "word", ("ta",)),
    Script("telugu", "\u0c00-\u0c63", "word", ("te",)),
    Script("kannada", "\u0c80-\u0ce3", "word", ("kn",)),
    Script("malayalam", "\u0d00-\u0d63", "word", ("ml",)),
    Script("hangul", "\u1100-\u11ff\u3131-\u318e\uac00-\ud7a3", "word", ("ko",)),
)

LANGUAGE_SCRIPT: dict[str, Script] = {lang: s for s in SCRIPTS for lang in s.languages}
"""Target language -> the script it is written in (``ja`` -> kana; its Han is handled by context)."""

# Inside a run of a space-delimited script: spaces, digits, and punctuation that does not end a sentence.
_SEP = " \t\u00a0\u3000\\d,;:\"“”‘«»()\\[\\]{}\\-–—/+=*<>%^_|~&#@$'’"
# Sentence (clause) ends. "，" is here because Chinese clauses end with it; Japanese uses "、".
_END = ".!?。！？，\n\r"


def _group(s: Script) -> str:
    if s.unit == "char":  # a pure run: its length is its unit count
        return f"(?P<{s.name}>[{s.chars}]+)"
    return f"(?P<{s.name}>[{s.chars}][{s.chars}{_SEP}]*)"


# One alternation, each branch a single character class followed by one starred class: linear time.
# Han, Kana and Thai runs are pure (their length is their unit count); Han and Kana are separate
# groups so a sentence's Kana can relabel its Han as Japanese.
_ALL_LETTERS = "".join(s.chars for s in SCRIPTS)
RUN = re.compile(
    "|".join(
        # "gap" swallows what no script claims in one step (faster than failing every branch per character)
        [f"(?P<gap>[^{_ALL_LETTERS}{_END}]+)", f"(?P<end>[{_END}])"] + [_group(s) for s in SCRIPTS]
    )
)
"""Cuts text into gaps, sentence ends and same-script runs; `m.lastgroup` names the script (or gap/end)."""

WORD: dict[str, re.Pattern[str]] = {
    s.name: re.compile(f"[{s.chars}]+(?:['’][{s.chars}]+)*") for s in SCRIPTS if s.unit == "word"
}
"""Per word-script: a word (a letter run, joined over apostrophes)."""

WORD_OR_NON_UNIT: dict[str, re.Pattern[str]] = {
    s.name: re.compile(
        f"((?<![{s.chars}'’])(?:[{s.chars}]|[{s.upper}]{{2,5}})(?![{s.chars}'’]))|{WORD[s.name].pattern}"
    )
    for s in SCRIPTS
    if s.variables and s.unit == "word"
}
"""Per variable script: every word, with group 1 set when the word is not a unit (one letter, or 2-5
capitals). One pass: `findall` yields "" for each unit, so the units are ``findall(run).count("")``."""


def count_units(script: Script, run: str) -> int:
    """Units in a run of a word script (see the module docstring).

    >>> count_units(SCRIPTS[3], "Let x be the GCD of a and b, so don't stop")
    8
    """
    if script.variables:
        return WORD_OR_NON_UNIT[script.name].findall(run).count("")
    return len(WORD[script.name].findall(run))
