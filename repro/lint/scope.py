"""One scope (module, function, method or class body), read once in execution order: the
``Scope`` class with its names, bindings and statements. It evaluates expressions and calls with
the ``exprs.Exprs`` mixin it inherits; the helpers over values it shares with it are in ``values``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from joinstall.lint import model
from joinstall.lint.exprs import Exprs
from joinstall.lint.judge import Event
from joinstall.lint.model import Chain, Cls, Func, Kind, Obj, Param, Qual, Value
from joinstall.lint.values import MISSING, _objs, elems, label, queues_in, union

if TYPE_CHECKING:
    from joinstall.lint.walker import FileWalker

#: ``MISSING`` and ``queues_in`` live in ``values`` and stay importable from here.
__all__ = ["MISSING", "STMTS", "Scope", "queues_in"]


class Scope(Exprs):
    def __init__(self, walker: FileWalker, chain: Chain, cls: Cls | None = None) -> None:
        self.walker = walker
        self.chain = chain
        self.vars = chain[0]
        self.cls = cls
        self.events: list[Event] = []
        self.loops: list[int] = []

    # --- names ---

    def lookup(self, name: str) -> Any:
        for d in self.chain:
            if name in d:
                return d[name]
        return MISSING

    def emit(
        self, kind: str, objs: Iterable[Obj], node: ast.AST, timeout: bool = False, text: str = ""
    ) -> None:
        objs = frozenset(objs)
        if objs:
            ev = Event(len(self.events), kind, objs, node, tuple(self.loops), timeout, text)
            self.events.append(ev)

    def escape(self, v: object, node: ast.AST, depth: int = 0) -> None:
        """``v`` goes to code we do not see: its queues may be read there, its pipes too."""
        objs = _objs(v)
        if not objs or depth > 4:
            return
        self.emit("use", (o for o in objs if o.kind is Kind.QUEUE), node)
        self.emit("read", (o for o in objs if o.kind is Kind.POPEN), node)
        for o in objs:
            if o.kind is Kind.SEQ:
                self.escape(frozenset(o.elems), node, depth + 1)
            elif o.kind is Kind.HOLDER:
                self.escape(frozenset(o.queues), node, depth + 1)
                for a in o.attrs.values():
                    self.escape(a, node, depth + 1)

    def bind(self, target: ast.AST, v: Value | None) -> None:
        if isinstance(target, ast.Name):
            self.vars[target.id] = v
            self._name(v, target.id)
        elif isinstance(target, ast.Attribute):
            base = self.eval(target.value, False)
            holders = [o for o in _objs(base) if o.kind in (Kind.HOLDER, Kind.PROCESS)]
            for o in holders:
                o.attrs[target.attr] = v
                if self.cls is not None and o is self.cls.self_obj and isinstance(v, Param):
                    self.cls.param_attrs[v.name] = target.attr
            if holders:
                self._name(v, f"{label(target.value)}.{target.attr}")
            else:
                self.escape(v, target)
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts = self._unpack(v, len(target.elts))
            for sub, part in zip(target.elts, parts, strict=True):
                self.bind(sub, part)
        elif isinstance(target, ast.Subscript):
            base = self.eval(target.value, False)
            self.eval(target.slice, False)
            seqs = [o for o in _objs(base) if o.kind is Kind.SEQ]
            for o in seqs:
                o.elems |= _objs(v)
            if not seqs:
                self.escape(v, target)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, None)

    @staticmethod
    def _name(v: object, name: str) -> None:
        for o in _objs(v):
            if not o.name:
                o.name = name
            if o.kind is Kind.SEQ:
                for e in o.elems:
                    if not e.name:
                        e.name = f"{name}[...]"

    @staticmethod
    def _unpack(v: object, n: int) -> list[Value | None]:
        tuples = [o.items for o in _objs(v) if o.items is not None and len(o.items) == n]
        if not tuples or len(tuples) != len(_objs(v)):
            return [None] * n
        return [union(*(t[i] for t in tuples)) for i in range(n)]

    # --- statements ---

    def body(self, stmts: list[ast.stmt]) -> None:
        for s in stmts:
            handler = STMTS.get(type(s))
            if handler is not None:
                handler(self, s)
            else:
                self._generic_stmt(s)

    def _generic_stmt(self, s: ast.AST) -> None:
        for child in ast.iter_child_nodes(s):
            if isinstance(child, ast.stmt):
                self.body([child])
            elif isinstance(child, ast.expr):
                self.eval(child, False)
            elif isinstance(child, (ast.excepthandler, ast.match_case)):
                self._generic_stmt(child)

    def s_expr(self, s: ast.Expr) -> None:
        self.eval(s.value, False)

    def s_assign(self, s: ast.Assign) -> None:
        v = self.eval(s.value, False)
        for t in s.targets:
            self.bind(t, v)

    def s_annassign(self, s: ast.AnnAssign) -> None:
        if s.value is not None:
            self.bind(s.target, self.eval(s.value, False))

    def s_augassign(self, s: ast.AugAssign) -> None:
        v = self.eval(s.value, False)
        current = self.eval(s.target, False) if isinstance(s.target, ast.Name) else None
        seqs = [o for o in _objs(current) if o.kind is Kind.SEQ]
        for o in seqs:
            o.elems |= elems(v)
        if not seqs:
            self.escape(v, s)

    def s_for(self, s: ast.For | ast.AsyncFor) -> None:
        it = self.eval(s.iter, False)
        self.loops.append(id(s))
        self.bind(s.target, elems(it) or None)
        self.body(s.body)
        self.loops.pop()
        self.body(s.orelse)

    def s_while(self, s: ast.While) -> None:
        self.loops.append(id(s))
        self.eval(s.test, False)
        self.body(s.body)
        self.loops.pop()
        self.body(s.orelse)

    def s_if(self, s: ast.If) -> None:
        self.eval(s.test, False)
        self.body(s.body)
        self.body(s.orelse)

    def s_with(self, s: ast.With | ast.AsyncWith) -> None:
        entered = []
        for item in s.items:
            v = self.eval(item.context_expr, False)
            entered.append((v, item.optional_vars or item.context_expr))
            if item.optional_vars is not None:
                self.bind(item.optional_vars, v)
        self.body(s.body)
        for v, expr in reversed(entered):
            # ProcessPoolExecutor.__exit__ is shutdown(wait=True): it waits for its workers.
            pools = [o for o in _objs(v) if o.kind is Kind.POOL and o.exit_joins]
            self.emit("join", pools, s, text=f"{label(expr)} (leaving its with block)")

    def s_try(self, s: ast.Try) -> None:
        self.body(s.body)
        for h in s.handlers:
            if h.type is not None:
                self.eval(h.type, False)
            if h.name:
                self.vars[h.name] = None
            self.body(h.body)
        self.body(s.orelse)
        self.body(s.finalbody)

    def s_return(self, s: ast.Return) -> None:
        if s.value is not None:
            self.escape(self.eval(s.value, False), s)

    def s_import(self, s: ast.Import) -> None:
        for a in s.names:
            if a.asname:
                self.vars[a.asname] = Qual(model.normal(model.qualify(a.name)))
            else:
                top = a.name.split(".", 1)[0]
                self.vars[top] = Qual(model.qualify(top))

    def s_importfrom(self, s: ast.ImportFrom) -> None:
        if s.level or not s.module:
            return
        module = model.qualify(s.module)
        for a in s.names:
            if a.name != "*":
                self.vars[a.asname or a.name] = Qual(model.normal(f"{module}.{a.name}"))

    def s_def(self, s: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for d in s.decorator_list:
            self.eval(d, False)
        for default in (*s.args.defaults, *(d for d in s.args.kw_defaults if d is not None)):
            self.eval(default, False)
        self.vars[s.name] = Func(s, self.chain)
        if self.cls is None:
            self.walker.schedule(s, self.chain)

    def s_class(self, s: ast.ClassDef) -> None:
        bases = [self.eval(b, False) for b in s.bases]
        process = any(
            (isinstance(b, Qual) and b.name == model.PROCESS) or (isinstance(b, Cls) and b.process)
            for b in bases
        )
        cls = Cls(s, process, Obj(Kind.PROCESS if process else Kind.HOLDER, name="self"), self.chain)
        for b in bases:
            if isinstance(b, Cls):  # inherited attributes and __init__ signature
                cls.self_obj.attrs.update(b.self_obj.attrs)
                cls.params, cls.param_attrs = list(b.params), dict(b.param_attrs)
        self.vars[s.name] = cls
        self.walker.klass(s, cls, self.chain)


STMTS: dict[type, Callable[[Scope, Any], None]] = {
    ast.Expr: Scope.s_expr,
    ast.Assign: Scope.s_assign,
    ast.AnnAssign: Scope.s_annassign,
    ast.AugAssign: Scope.s_augassign,
    ast.For: Scope.s_for,
    ast.AsyncFor: Scope.s_for,
    ast.While: Scope.s_while,
    ast.If: Scope.s_if,
    ast.With: Scope.s_with,
    ast.AsyncWith: Scope.s_with,
    ast.Try: Scope.s_try,
    ast.Return: Scope.s_return,
    ast.Import: Scope.s_import,
    ast.ImportFrom: Scope.s_importfrom,
    ast.FunctionDef: Scope.s_def,
    ast.AsyncFunctionDef: Scope.s_def,
    ast.ClassDef: Scope.s_class,
    ast.Pass: lambda scope, s: None,
    ast.Break: lambda scope, s: None,
    ast.Continue: lambda scope, s: None,
    ast.Global: lambda scope, s: None,
    ast.Nonlocal: lambda scope, s: None,
}
if hasattr(ast, "TryStar"):  # Python 3.11+
    STMTS[ast.TryStar] = Scope.s_try
