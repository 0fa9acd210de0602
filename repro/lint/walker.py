"""One file: the module scope first, then every function and method that could hold a finding.

A function body is read after the scope that defines it, when the names it closes over are
bound. A function whose text holds no join, wait or ``cancel_join_thread`` cannot hold a
finding and is skipped unread; that keeps the walk far cheaper than the parse that precedes it.
"""

from __future__ import annotations

import ast
import collections

from joinstall.lint.judge import Hit, judge
from joinstall.lint.model import Chain, Cls, Obj, Param, Value
from joinstall.lint.scope import MISSING, Scope, queues_in

#: A function is read when its text has a join-like call and a get, a wait, or the false fix.
JOINS = (".join(", ".shutdown(", "Executor")
#: Methods are also read when they make things ``self`` keeps for the other methods.
MAKERS = ("Process", "Pool", "Queue", "Popen", "Executor")

Def = ast.FunctionDef | ast.AsyncFunctionDef


class FileWalker:
    def __init__(self, lines: list[str] | None = None) -> None:
        #: The source lines, to skip functions by their text; None reads every function.
        self.lines = lines
        self.hits: list[Hit] = []
        self.todo: collections.deque[tuple[Def, Chain, Cls | None]] = collections.deque()
        self._free: dict[int, frozenset[str]] = {}

    def run(self, tree: ast.AST) -> list[Hit]:
        module: dict[str, Value | None] = {}
        scope = Scope(self, [module])
        scope.body(tree.body if isinstance(tree, ast.Module) else [])
        self.hits += judge(scope.events)
        while self.todo:
            self.function(*self.todo.popleft())
        return self.hits

    def hit(self, code: str, node: ast.AST) -> None:
        self.hits.append(Hit(code, getattr(node, "lineno", 0), getattr(node, "col_offset", 0), {}))

    # --- which bodies to read ---

    def _text(self, node: ast.AST) -> str | None:
        if self.lines is None:
            return None
        start, end = getattr(node, "lineno", 1), getattr(node, "end_lineno", None) or len(self.lines)
        return "".join(self.lines[start - 1 : end])

    def wanted(self, node: Def, method: bool = False) -> bool:
        text = self._text(node)
        if text is None:
            return True
        if "cancel_join_thread" in text or ".wait(" in text:
            return True
        if ".get" in text and any(j in text for j in JOINS):
            return True
        return method and any(m in text for m in MAKERS)

    def schedule(self, node: Def, chain: Chain) -> None:
        if self.wanted(node):
            self.todo.append((node, chain, None))

    def klass(self, node: ast.ClassDef, cls: Cls, chain: Chain) -> None:
        """Read a class body now; ``__init__`` now too, the other methods after the module."""
        body = Scope(self, [{}, *chain], cls)
        body.body(node.body)
        self.hits += judge(body.events)
        methods = [s for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for m in methods:
            if m.name == "__init__":
                self.function(m, chain, cls)
        later = [m for m in methods if m.name != "__init__" and self.wanted(m, method=True)]
        # Methods that make things first, so that the others find them on self.
        text = {id(m): self._text(m) or "" for m in later}
        later.sort(key=lambda m: not any(k in text[id(m)] for k in MAKERS))
        self.todo.extend((m, chain, cls) for m in later)

    # --- one function ---

    def function(self, node: Def, chain: Chain, cls: Cls | None) -> None:
        local: dict[str, Value | None] = {}
        args = [*node.args.posonlyargs, *node.args.args]
        static = any(
            isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in node.decorator_list
        )
        if cls is not None and args and not static:
            local[args[0].arg] = frozenset({cls.self_obj})
            if node.name == "__init__":
                cls.params = [a.arg for a in args[1:]]
                for a in args[1:]:
                    local[a.arg] = Param(a.arg)
        scope = Scope(self, [local, *chain], cls if node.name == "__init__" else None)
        scope.body(node.body)
        self.hits += judge(scope.events)

    # --- what a child receives through the names its code uses ---

    def free_names(self, node: ast.AST) -> frozenset[str]:
        cached = self._free.get(id(node))
        if cached is None:
            loads: set[str] = set()
            stores: set[str] = set()
            for n in ast.walk(node):
                if isinstance(n, ast.Name):
                    (loads if isinstance(n.ctx, ast.Load) else stores).add(n.id)
                elif isinstance(n, ast.arg):
                    stores.add(n.arg)
            cached = self._free[id(node)] = frozenset(loads - stores)
        return cached

    @staticmethod
    def _lookup(chain: Chain, name: str) -> object:
        for d in chain:
            if name in d:
                return d[name]
        return MISSING

    def free_queues(self, node: ast.AST, chain: Chain) -> set[Obj]:
        """Queues that code run in a child (a target, an initializer, a class) reaches by name."""
        out: set[Obj] = set()
        for name in self.free_names(node):
            out |= queues_in(self._lookup(chain, name))
        return out
