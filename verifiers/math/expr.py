"""A small LaTeX expression parser into a tuple AST, with exact and numeric evaluation.

No ``eval``, no sympy: the grammar is our own recursive descent over the normalized string.
Supported: numbers (``1.5e6`` too), letters and Greek commands with subscripts/primes, ``+ - * /``,
``\\cdot \\times \\div``, implicit products, ``^``, ``!``, ``\\frac``, ``\\sqrt[n]{}``, ``\\binom``,
``| |``, floor/ceil, trig/log/exp functions, ``\\pi``, ``e``, ``i``, ``\\infty``. Anything else raises
`ParseError` and the caller falls back to the symbolic path (`verifiers.math.symbolic`).
Numeric evaluation of the AST (probing) lives in `verifiers.math.numeric`.

AST nodes are tuples: ``("num", Fraction)``, ``("sym", name)``, ``("const", "pi"|"e"|"i"|"inf")``,
``("add", (a, ...))``, ``("mul", (a, ...))``, ``("neg", a)``, ``("div", a, b)``, ``("pow", a, b)``,
``("fn", name, a)``, ``("log", base|None, a)``, ``("root", a, n)``, ``("fact", a)``, ``("binom", a, b)``.

Budgets: every power and factorial is checked before it is computed (`TooLarge`), so
``9^{9^{9^9}}`` or ``100000!`` cost microseconds, not minutes.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import mpmath

__all__ = ["NotExact", "ParseError", "TooLarge", "evaluate_exact", "parse_expr_latex", "symbols"]

Node = tuple[Any, ...]

MAX_BITS = 1 << 16  # exact integers up to 65,536 bits (~19,700 digits)
MAX_FACTORIAL = 2000
MAX_NUMERIC_MAG = 10**6  # |log2 value| beyond this is "too large" for numeric probing
MAX_DEPTH = 60
MAX_LEN = 4000


class ParseError(ValueError):
    """The string is outside the supported grammar."""


class NotExact(ValueError):
    """The expression has no exact rational value (symbols, roots, pi...)."""


class TooLarge(ValueError):
    """A power, factorial or value is beyond the size budget."""


_FUNCS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "exp", "ln", "log", "lg",
}
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega", "hbar", "ell", "mho",
}
_DECOR = {"vec", "overrightarrow", "bar", "hat", "dot", "ddot", "tilde", "overline", "widehat", "mathcal", "mathbb"}


class _Parser:
    def __init__(self, s: str) -> None:
        if len(s) > MAX_LEN:
            raise ParseError(f"expression longer than {MAX_LEN} characters")
        self.s = s
        self.i = 0
        self.depth = 0

    # -- helpers ---------------------------------------------------------------------------
    def peek(self) -> str:
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1
        return self.s[self.i] if self.i < len(self.s) else ""

    def startswith(self, t: str) -> bool:
        self.peek()
        if not self.s.startswith(t, self.i):
            return False
        end = self.i + len(t)
        return not (t[-1].isalpha() and end < len(self.s) and self.s[end].isalpha())

    def eat(self, t: str) -> bool:
        if self.startswith(t):
            self.i += len(t)
            return True
        return False

    def expect(self, t: str) -> None:
        if not self.eat(t):
            raise ParseError(f"expected {t!r} at {self.i} in {self.s[:80]!r}")

    def command(self) -> str:
        j = self.i + 1
        while j < len(self.s) and self.s[j].isalpha():
            j += 1
        return self.s[self.i + 1: j]

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("expression nested too deeply")

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.expr()
        if self.peek():
            raise ParseError(f"unexpected {self.s[self.i:self.i + 20]!r}")
        return node

    def expr(self) -> Node:
        self.enter()
        terms: list[Node] = []
        first = True
        while True:
            if self.eat("+"):
                sign = 1
            elif self.eat("-"):
                sign = -1
            elif first:
                sign = 1
            else:
                break
            first = False
            t = self.term()
            terms.append(t if sign > 0 else ("neg", t))
        self.depth -= 1
        return terms[0] if len(terms) == 1 else ("add", tuple(terms))

    def term(self) -> Node:
        factors: list[Node] = [self.power()]
        while True:
            c = self.peek()
            if c == "*" or self.eat("\\cdot") or self.eat("\\times"):
                self.eat("*")
                factors.append(self.power())
            elif c == "/" or self.eat("\\div"):
                self.eat("/")
                left = factors[0] if len(factors) == 1 else ("mul", tuple(factors))
                factors = [("div", left, self.power())]
            elif c and (c.isalpha() or _isdigit(c) or c in "(\\{.|") and not self._stop():
                factors.append(self.power())
            else:
                break
        return factors[0] if len(factors) == 1 else ("mul", tuple(factors))

    def _stop(self) -> bool:
        for t in ("\\right", "\\rfloor", "\\rceil", "\\end", "\\cdot", "\\times", "\\div", "\\pm", "\\mp"):
            if self.startswith(t):
                return True
        return self.peek() == "|" and self._abs_open

    _abs_open = False

    def power(self) -> Node:
        base = self.postfix()
        if self.eat("^"):
            exp = self.script()
            base = ("pow", base, exp)
            while self.eat("!"):
                base = ("fact", base)
        return base

    def script(self) -> Node:
        """A superscript/argument: ``{...}``, one digit, one letter or one command atom."""
        c = self.peek()
        if c == "{":
            return self.group()
        if _isdigit(c):
            self.i += 1
            return ("num", Fraction(int(c)))
        if c == "-":
            self.i += 1
            return ("neg", self.script())
        return self.atom()

    def group(self) -> Node:
        self.expect("{")
        node = self.expr()
        self.expect("}")
        return node

    def postfix(self) -> Node:
        node = self.atom()
        while True:
            if self.eat("!"):
                node = ("fact", node)
            elif self.peek() == "'" and node[0] == "sym":
                while self.eat("'"):
                    node = ("sym", node[1] + "'")
            else:
                return node

    def number(self) -> Node:
        s, j = self.s, self.i
        while j < len(s) and _isdigit(s[j]):
            j += 1
        if j < len(s) and s[j] == "." and j + 1 < len(s) and _isdigit(s[j + 1]):
            j += 1
            while j < len(s) and _isdigit(s[j]):
                j += 1
        text = s[self.i: j]
        if j < len(s) and s[j] in "eE" and j + 1 < len(s) and (_isdigit(s[j + 1]) or (s[j + 1] in "+-" and j + 2 < len(s) and _isdigit(s[j + 2]))):
            k = j + 2
            while k < len(s) and _isdigit(s[k]):
                k += 1
            if k - j > 7:
                raise TooLarge("exponent literal too long")
            text = s[self.i: k]
            j = k
        self.i = j
        if not text or text == ".":
            raise ParseError("bad number")
        return ("num", Fraction(text))

    def atom(self) -> Node:
        c = self.peek()
        if not c:
            raise ParseError("unexpected end")
        if _isdigit(c) or (c == "." and _isdigit(self.s[self.i + 1: self.i + 2])):
            return self.number()
        if c == "(" or c == "[":
            self.i += 1
            node = self.expr()
            if not (self.eat(")") or self.eat("]")):
                raise ParseError("unclosed bracket")
            return node
        if c == "{":
            return self.group()
        if c == "|":
            if self._abs_open:
                raise ParseError("nested |")
            self.i += 1
            self._abs_open = True
            node = self.expr()
            self._abs_open = False
            self.expect("|")
            return ("fn", "abs", node)
        if c.isalpha():
            self.i += 1
            return self.subscripted(("sym", c) if c not in "ei" else ("const", c))
        if c == "\\":
            return self.cmd()
        raise ParseError(f"unexpected {c!r}")

    def subscripted(self, node: Node) -> Node:
        if self.peek() == "_":
            self.i += 1
            if self.peek() == "{":
                j = _match(self.s, self.i)
                sub = self.s[self.i + 1: j].replace(" ", "")
                self.i = j + 1
            else:
                sub = self.s[self.i]
                self.i += 1
            name = node[1] if node[0] in ("sym", "const") else str(node)
            return ("sym", f"{name}_{sub}")
        return node

    def cmd(self) -> Node:
        name = self.command()
        if not name:
            raise ParseError(f"unsupported {self.s[self.i:self.i + 2]!r}")
        self.i += 1 + len(name)
        if name == "frac":
            a = self.script()
            b = self.script()
            return ("div", a, b)
        if name == "sqrt":
            n: Node = ("num", Fraction(2))
            if self.eat("["):
                n = self.expr()
                self.expect("]")
            return ("root", self.script(), n)
        if name in ("sum", "prod"):
            return self.big_operator(name)
        if name == "binom":
            return ("binom", self.script(), self.script())
        if name in ("pi",):
            return ("const", "pi")
        if name == "infty":
            return ("const", "inf")
        if name in ("lfloor", "lceil"):
            inner = self.expr()
            self.expect("\\rfloor" if name == "lfloor" else "\\rceil")
            return ("fn", "floor" if name == "lfloor" else "ceil", inner)
        if name in _GREEK:
            return self.subscripted(("sym", name))
        if name in _DECOR:
            j = _match(self.s, self.i) if self.peek() == "{" else -1
            if j < 0:
                raise ParseError(f"\\{name} without argument")
            inner = self.s[self.i + 1: j].replace(" ", "")
            self.i = j + 1
            if name == "mathbb" or name == "mathcal":
                return self.subscripted(("sym", f"{name}:{inner}"))
            return self.subscripted(("sym", f"{name}({inner})"))
        if name in _FUNCS:
            return self.function(name)
        raise ParseError(f"unsupported command \\{name}")

    def big_operator(self, name: str) -> Node:
        """``\\sum_{k=a}^{b} body`` (body: the following product) -> ("sum"|"prod", k, a, b, body)."""
        self.expect("_")
        self.expect("{")
        var = self.atom()
        if var[0] != "sym" or not self.eat("="):
            raise ParseError(f"\\{name} needs a lower limit k=a")
        lo = self.expr()
        self.expect("}")
        self.expect("^")
        hi = self.script()
        return (name, var[1], lo, hi, self.term())

    def function(self, name: str) -> Node:
        base: Node | None = None
        if name == "log" and self.eat("_"):
            base = self.script()
        power: Node | None = None
        if self.eat("^"):
            power = self.script()
        if self.peek() == "(":
            self.i += 1
            arg = self.expr()
            self.expect(")")
        else:
            arg = self.power()
        if name in ("ln",):
            node: Node = ("log", None, arg)
        elif name == "log":
            node = ("log", base, arg)  # base None = natural log, as sympy reads \log
        elif name == "lg":
            node = ("log", ("num", Fraction(10)), arg)
        else:
            node = ("fn", name, arg)
        return ("pow", node, power) if power is not None else node


def _isdigit(c: str) -> bool:
    """ASCII digit only (``str.isdigit`` also accepts ``¹``, which `Fraction` rejects)."""
    return len(c) == 1 and "0" <= c <= "9"


def _match(s: str, i: int) -> int:
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{" and (j == 0 or s[j - 1] != "\\"):
            depth += 1
        elif s[j] == "}" and (j == 0 or s[j - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return j
    raise ParseError("unbalanced braces")


def parse_expr_latex(s: str) -> Node:
    """Parse a normalized LaTeX expression. Raises ParseError (or TooLarge for absurd literals)."""
    if not s:
        raise ParseError("empty expression")
    try:
        return _Parser(s).parse()
    except RecursionError as exc:
        raise ParseError("expression nested too deeply") from exc


def symbols(node: Node) -> set[str]:
    """Free symbol names of a node."""
    if node[0] == "sym":
        return {node[1]}
    if node[0] in ("sum", "prod"):
        return symbols(node[2]) | symbols(node[3]) | (symbols(node[4]) - {node[1]})
    out: set[str] = set()
    for part in node[1:]:
        if isinstance(part, tuple):
            if part and isinstance(part[0], str):
                out |= symbols(part)
            else:
                for p in part:
                    out |= symbols(p)
    return out


# -- exact evaluation ----------------------------------------------------------------------------
def evaluate_exact(node: Node) -> Fraction:
    """The exact rational value, or raise NotExact / TooLarge. Checks sizes before every power."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "neg":
        return -evaluate_exact(node[1])
    if kind == "add":
        return sum((evaluate_exact(t) for t in node[1]), Fraction(0))
    if kind == "mul":
        out = Fraction(1)
        for t in node[1]:
            out *= evaluate_exact(t)
            _check_size(out)
        return out
    if kind == "div":
        den = evaluate_exact(node[2])
        if den == 0:
            raise NotExact("division by zero")
        return evaluate_exact(node[1]) / den
    if kind == "pow":
        base = evaluate_exact(node[1])
        exp = evaluate_exact(node[2])
        if exp.denominator != 1:
            raise NotExact("fractional power")
        e = exp.numerator
        if base == 0:
            if e < 0:
                raise NotExact("0 to a negative power")
            return Fraction(0 if e else 1)
        if abs(base) != 1:
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if abs(e) * bits > MAX_BITS:
                raise TooLarge("power beyond the exact budget")
        return base**e
    if kind == "fact":
        v = evaluate_exact(node[1])
        if v.denominator != 1 or v < 0:
            raise NotExact("factorial of a non-natural number")
        if v > MAX_FACTORIAL:
            raise TooLarge("factorial beyond the exact budget")
        return Fraction(math.factorial(int(v)))
    if kind == "binom":
        n, k = evaluate_exact(node[1]), evaluate_exact(node[2])
        if n.denominator != 1 or k.denominator != 1 or n < 0 or k < 0:
            raise NotExact("binomial of non-naturals")
        if n > 10 * MAX_FACTORIAL:
            raise TooLarge("binomial beyond the exact budget")
        return Fraction(math.comb(int(n), int(k)))
    if kind == "fn" and node[1] == "abs":
        return abs(evaluate_exact(node[2]))
    if kind == "root":
        v, n = evaluate_exact(node[1]), evaluate_exact(node[2])
        if n.denominator == 1 and n > 1 and v >= 0 and n < 64:
            k = int(n)
            p, q = _iroot(v.numerator, k), _iroot(v.denominator, k)
            if p is not None and q is not None:
                return Fraction(p, q)
        raise NotExact("irrational root")
    raise NotExact(kind)


def _iroot(x: int, k: int) -> int | None:
    if x.bit_length() > MAX_BITS:
        return None
    r = round(x ** (1.0 / k)) if x.bit_length() < 1000 else int(mpmath.nthroot(x, k))
    for c in (r - 1, r, r + 1):
        if c >= 0 and c**k == x:
            return c
    return None


def _check_size(v: Fraction) -> None:
    if v.numerator.bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS:
        raise TooLarge("value beyond the exact budget")
