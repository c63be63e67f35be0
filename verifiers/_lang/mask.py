"""Masking of spans that are not natural language: code, LaTeX, URLs, e-mails, code-like identifiers.

Every pattern is linear in the text length: ASCII classes only (no \\w, which also matches Han and
would make identifier patterns rescan long Chinese runs), identifier patterns start only at the
beginning of an ASCII run (a lookbehind), and delimited spans stop at their closing delimiter or at a
bounded length. Each pass runs only when its trigger character is in the text, and each pattern
starts with a literal, so the regex engine skips ahead instead of trying every position.
Masked spans become a space; block-level spans (fenced code, display math, environments, code lines)
become a newline, so they also end the sentence around them.
"""

from __future__ import annotations

import re

__all__ = ["mask"]

_A = "A-Za-z0-9_"  # ASCII identifier characters

_FENCE = re.compile(r"```[\s\S]*?(?:```|\Z)|~~~[\s\S]*?(?:~~~|\Z)")  # an unclosed fence runs to the end
_DISPLAY_DOLLAR = re.compile(r"\$\$[^$]*\$\$")
_INLINE_DOLLAR = re.compile(r"\$[^$\n]+\$")
_BEGIN = re.compile(r"\\begin\{([A-Za-z*]{1,40})\}")
_LATEX_INLINE = re.compile(
    r"\\boxed\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}"  # \boxed{...}, two levels of nesting
    r"|\\[A-Za-z]+\*?"  # stray commands (\frac, \sqrt ...): their {args} hold digits and one-letter names
)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9_-]{0,30}>")  # <answer>, </step>
_URL = re.compile(r"(?:https?|ftp)://[!-~]+|www\.[!-~]+")
_EMAIL = re.compile(rf"(?<![{_A}.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# A line of code, after a newline (the text gets one prepended): a lowercase keyword with code
# punctuation later on the line, or an indented line with an assignment, comparison or braces.
_CODE_LINE = re.compile(
    r"\n[ \t]*(?:def|class|for|while|if|elif|else|try|except|return|import|from|print|with|lambda|yield|"
    r"assert|raise|const|let|var|function|public|private|static|int|void|fn|#include|#define)"
    r"\b[^\n]*?[=(){}\[\]:;+*/<>%][^\n]*"
    r"|\n[ \t]{4,}(?=\S)[^\n]*?(?:[-+*/%<>!=]=|[;{}]|[A-Za-z_\])]\s*=\s*\S)[^\n]*"
)
# A code-like identifier: an ASCII run holding an underscore, a digit, a camel hump, a dot between
# names, or followed by "(": x2, snake_case, camelCase, np.linalg.solve, f( . Plain words pass.
# The pattern opens with a character class (not the lookbehind that anchors it to the start of the
# run), so the regex engine can skip non-ASCII text quickly; the lookbehind comes second.
_IDENT = re.compile(
    rf"[{_A}](?<![{_A}.][{_A}])"
    rf"(?:(?<=[_0-9])|(?<=[a-z])(?=[A-Z])|(?=[{_A}]*(?:[_0-9]|[a-z][A-Z]|\.[A-Za-z_]|\()))"
    rf"[{_A}]*(?:\.[{_A}]+)*\(?"
)


def mask(text: str) -> str:
    """The text with non-language spans replaced by a space (block spans by a newline).

    >>> mask("Use `np.sum` on $x^2$, see https://x.org or np.mean(a).")
    'Use   on  , see   or  a).'
    """
    if "```" in text or "~~~" in text:
        text = _FENCE.sub("\n", text)
    if "$" in text:
        text = _INLINE_DOLLAR.sub(" ", _DISPLAY_DOLLAR.sub("\n", text))
    if "\\" in text:
        if "\\[" in text:
            text = _delimited(text, "\\[", "\\]", "\n")
        if "\\begin{" in text:
            text = _environments(text)
        if "\\(" in text:
            text = _delimited(text, "\\(", "\\)", " ")
        text = _LATEX_INLINE.sub(" ", text)
    if "`" in text:
        text = _INLINE_CODE.sub(" ", text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _EMAIL.sub(" ", text)
    text = _CODE_LINE.sub("\n", "\n" + text)[1:]
    return _IDENT.sub(" ", text)


def _delimited(text: str, opener: str, closer: str, repl: str) -> str:
    """Replace each `opener` ... `closer` span by `repl`, in linear time.

    A regex with a lazy body rescans the rest of the text from every unclosed opener (quadratic on
    ``"\\(" * 50_000``). Here, once no closer follows an opener, none follows any later one: stop.
    """
    out: list[str] = []
    pos = 0
    while True:
        i = text.find(opener, pos)
        if i < 0:
            break
        j = text.find(closer, i + len(opener))
        if j < 0:
            break
        out.append(text[pos:i])
        out.append(repl)
        pos = j + len(closer)
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _environments(text: str) -> str:
    """Replace each ``\\begin{name}`` ... ``\\end{name}`` by a newline, in linear time (see `_delimited`)."""
    out: list[str] = []
    pos = 0
    unclosed: set[str] = set()  # names with no \end{name} after some earlier \begin{name}
    for m in _BEGIN.finditer(text):
        if m.start() < pos:
            continue  # nested inside an environment already masked
        name = m.group(1)
        if name in unclosed:
            continue
        j = text.find(f"\\end{{{name}}}", m.end())
        if j < 0:
            unclosed.add(name)
            continue
        out.append(text[pos : m.start()])
        out.append("\n")
        pos = j + len(name) + 6
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)
