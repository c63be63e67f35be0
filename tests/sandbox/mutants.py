"""Mechanical wrong variants of a correct Python function (for "wrong solutions fail" tests)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

_FLIP = {
    ast.Lt: ast.GtE,
    ast.LtE: ast.Gt,
    ast.Gt: ast.LtE,
    ast.GtE: ast.Lt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}


class _Nth(ast.NodeTransformer):
    def __init__(self, kind: str, n: int) -> None:
        self.kind, self.n, self.seen, self.done = kind, n, 0, False

    def _hit(self) -> bool:
        self.seen += 1
        if self.seen - 1 == self.n:
            self.done = True
            return True
        return False

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if self.kind == "const" and type(node.value) is int and self._hit():
            return ast.copy_location(ast.Constant(node.value + 1), node)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if self.kind == "compare" and type(node.ops[0]) in _FLIP and self._hit():
            node.ops = [_FLIP[type(node.ops[0])]()] + node.ops[1:]
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        if self.kind == "return" and node.value is not None and self._hit():
            return ast.copy_location(ast.Return(ast.Constant(None)), node)
        return node


def mutants(source: str, entry_point: str) -> Iterator[tuple[str, str]]:
    """Yield ``(label, source)`` wrong variants of `entry_point` in `source`: an off-by-one constant,
    a flipped comparison, a return of None (the first few of each kind, in that order)."""
    tree = ast.parse(source)
    for kind in ("const", "compare", "return"):
        for n in range(3):
            t = ast.parse(source)
            for node in t.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry_point:
                    m = _Nth(kind, n)
                    m.visit(node)
                    if m.done:
                        yield f"{kind}#{n}", ast.unparse(ast.fix_missing_locations(t))
                    break
    del tree
