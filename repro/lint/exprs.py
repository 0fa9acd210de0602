"""Expression and call evaluation: the ``Exprs`` mixin that ``scope.Scope`` inherits.

Expressions are evaluated to values (``model.Value``) and every call that matters becomes an
event for ``judge``. ``esc`` says whether a name in this position is handed to code we do not
see (a call's argument, a return value): a queue handed on may be read there, so it counts as
drained, which keeps the lint silent rather than wrong.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from joinstall.lint import model
from joinstall.lint.model import EMPTY, Chain, Cls, Func, Kind, Obj, Objs, Qual, Value
from joinstall.lint.values import (
    ENDS,
    MISSING,
    SAME_ITEMS,
    SEQ_ADD,
    SEQ_EXTEND,
    SEQ_SAME,
    _objs,
    elems,
    label,
    queues_in,
    union,
)

if TYPE_CHECKING:
    from joinstall.lint.walker import FileWalker


class Exprs:
    """Evaluates expressions and calls; ``scope.Scope`` supplies the state and methods declared here."""

    walker: FileWalker
    chain: Chain
    loops: list[int]

    if TYPE_CHECKING:

        def lookup(self, name: str) -> Any: ...

        def emit(
            self, kind: str, objs: Iterable[Obj], node: ast.AST, timeout: bool = False, text: str = ""
        ) -> None: ...

        def escape(self, v: object, node: ast.AST, depth: int = 0) -> None: ...

        def bind(self, target: ast.AST, v: Value | None) -> None: ...

    def eval(self, node: ast.AST, esc: bool) -> Any:
        handler = EXPRS.get(type(node))
        if handler is None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.eval(child, False)
                elif isinstance(child, ast.comprehension):
                    self._comprehension(child)
            return None
        return handler(self, node, esc)

    def e_const(self, node: ast.AST, esc: bool) -> None:
        return None

    def e_name(self, node: ast.Name, esc: bool) -> Any:
        v = self.lookup(node.id)
        if v is MISSING:
            return None
        if esc:
            self.escape(v, node)
        return v

    def e_attribute(self, node: ast.Attribute, esc: bool) -> Any:
        base = self.eval(node.value, False)
        if isinstance(base, Qual):
            return Qual(model.normal(model.qualify(f"{base.name}.{node.attr}")))
        objs = _objs(base)
        if not objs:
            return None
        self._touch(objs, node.attr, node)
        found = union(*(o.attrs[node.attr] for o in objs if node.attr in o.attrs))
        if found is None and esc and node.attr not in model.GETS:
            # A bound method handed on (Thread(target=self.drain)): it may read anything self holds.
            self.escape(frozenset(o for o in objs if o.kind is Kind.HOLDER), node)
        if found is not None and esc:
            self.escape(found, node)
        return found

    def _touch(self, objs: Objs, attr: str, node: ast.AST) -> None:
        """An attribute of tracked objects is read: a queue's ``get``, a pipe's ``stdout``."""
        queues = [o for o in objs if o.kind is Kind.QUEUE]
        if queues:
            if attr in model.GETS:
                self.emit("get", queues, node)
            elif attr not in model.QUIET:
                self.emit("use", queues, node)
        if attr in ("stdout", "stderr", "communicate"):
            self.emit("read", (o for o in objs if o.kind is Kind.POPEN), node)

    def e_call(self, node: ast.Call, esc: bool) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr == "cancel_join_thread":
                self.walker.hit("JS104", node)
            base = self.eval(func.value, False)
            if isinstance(base, frozenset) and base:
                return self._method(base, func.attr, node)
            f = (
                Qual(model.normal(model.qualify(f"{base.name}.{func.attr}")))
                if isinstance(base, Qual)
                else None
            )
        else:
            f = self.eval(func, False)
        if isinstance(f, Qual):
            made = self._construct(f.name, node)
            if made is not MISSING:
                return made
        elif isinstance(f, Cls):
            return self._instantiate(f, node)
        elif isinstance(f, Func):
            self.escape(frozenset(self.walker.free_queues(f.node, f.chain)), node)
        elif f is None and isinstance(func, ast.Name) and self.lookup(func.id) is MISSING:
            made = self._builtin(func.id, node)
            if made is not MISSING:
                return made
        self._args(node, True)
        return None

    def _args(self, node: ast.Call, esc: bool) -> list[Any]:
        return [self.eval(a, esc) for a in node.args] + [self.eval(k.value, esc) for k in node.keywords]

    def _arg(self, node: ast.Call, name: str, pos: int | None) -> ast.expr | None:
        for k in node.keywords:
            if k.arg == name:
                return k.value
        if pos is not None and pos < len(node.args) and not isinstance(node.args[pos], ast.Starred):
            return node.args[pos]
        return None

    def _method(self, base: Objs, attr: str, node: ast.Call) -> Any:
        """A method of tracked objects: the events of the rules happen here."""
        self._touch(base, attr, node)
        kinds = {o.kind for o in base}
        text = label(node.func.value) if isinstance(node.func, ast.Attribute) else "it"
        timeout = bool(node.args or node.keywords)
        if attr == "join":
            self.emit("join", (o for o in base if o.kind in (Kind.PROCESS, Kind.POOL)), node, timeout, text)
        elif attr == "shutdown" and not self._no_wait(node):
            self.emit("join", (o for o in base if o.kind is Kind.POOL), node, False, text)
        elif attr == "wait":
            self.emit("wait", (o for o in base if o.kind is Kind.POPEN), node, timeout, text)
        elif attr in ENDS:
            # A child that is killed neither stalls its parent's join nor needs its pipe read.
            self.emit("end", (o for o in base if o.kind in (Kind.PROCESS, Kind.POOL, Kind.POPEN)), node)
        if Kind.POOL in kinds and attr in model.TASKS and node.args:
            # The task function runs in the workers with the globals it names (fork).
            f = self.eval(node.args[0], False)
            if isinstance(f, Func):
                for o in base:
                    if o.kind is Kind.POOL:
                        o.queues |= self.walker.free_queues(f.node, f.chain)
            self._args(node, False)
            return None
        if Kind.SEQ in kinds:
            args = self._args(node, False)
            for o in base:
                if o.kind is Kind.SEQ:
                    if attr in SEQ_ADD and args:
                        o.elems |= _objs(args[-1])
                    elif attr in SEQ_EXTEND and args:
                        o.elems |= elems(args[0])
            return base if attr in SEQ_SAME else None
        holders = frozenset(o for o in base if o.kind is Kind.HOLDER and attr not in o.attrs)
        if holders:
            # self.collect(): a method of ours may read any queue self holds.
            self.escape(holders, node)
        self._args(node, True)
        return None

    @staticmethod
    def _no_wait(node: ast.Call) -> bool:
        for k in node.keywords:
            if k.arg == "wait":
                return not (isinstance(k.value, ast.Constant) and k.value.value is True)
        return bool(node.args) and not (isinstance(node.args[0], ast.Constant) and node.args[0].value is True)

    def _construct(self, name: str, node: ast.Call) -> Any:
        if name in model.QUEUES:
            self._args(node, False)
            return frozenset({Obj(Kind.QUEUE)})
        if name == model.PROCESS:
            return frozenset({self._process(node)})
        if name in model.POOLS:
            return frozenset({self._pool(node, name)})
        if name == model.POPEN:
            piped = False
            for arg, pos in (("stdout", 4), ("stderr", 5)):
                expr = self._arg(node, arg, pos)
                if expr is not None and self.eval(expr, False) == Qual(model.PIPE):
                    piped = True
            self._args(node, False)
            made = Obj(Kind.POPEN, piped=piped)
            self.emit("make", (made,), node)
            return frozenset({made})
        if name == model.CONTEXT:
            self._args(node, False)
            return Qual("multiprocessing")
        return MISSING

    def _target_queues(self, target: ast.expr | None) -> set[Obj]:
        if target is None:
            return set()
        if isinstance(target, ast.Attribute):
            # A bound method: the child gets the object, and with it every queue it holds.
            base = self.eval(target.value, False)
            return queues_in(frozenset(o for o in _objs(base) if o.kind in (Kind.HOLDER, Kind.PROCESS)))
        if isinstance(target, ast.Lambda):
            return self.walker.free_queues(target, self.chain)
        f = self.eval(target, False)
        return self.walker.free_queues(f.node, f.chain) if isinstance(f, Func) else set()

    def _process(self, node: ast.Call) -> Obj:
        target = self._arg(node, "target", 1)
        queues = self._target_queues(target)
        for name, pos in (("args", 3), ("kwargs", 4)):
            expr = self._arg(node, name, pos)
            if expr is not None:
                queues |= queues_in(self.eval(expr, False))
        handed = [self._arg(node, name, pos) for name, pos in (("target", 1), ("args", 3), ("kwargs", 4))]
        for expr in [*node.args, *(k.value for k in node.keywords)]:
            if not any(expr is h for h in handed):
                self.eval(expr, False)
        return Obj(Kind.PROCESS, queues=queues)

    def _pool(self, node: ast.Call, name: str) -> Obj:
        executor = name != "multiprocessing.Pool"
        init = self._arg(node, "initializer", 2 if executor else 1)
        initargs = self._arg(node, "initargs", 3 if executor else 2)
        queues = self._target_queues(init)
        if initargs is not None:
            queues |= queues_in(self.eval(initargs, False))
        for expr in [*node.args, *(k.value for k in node.keywords)]:
            if expr is not init and expr is not initargs:
                self.eval(expr, False)
        return Obj(Kind.POOL, queues=queues, exit_joins=executor)

    def _instantiate(self, cls: Cls, node: ast.Call) -> Objs:
        obj = Obj(Kind.PROCESS if cls.process else Kind.HOLDER, attrs=dict(cls.self_obj.attrs))
        vals = []
        for i, a in enumerate(node.args):
            v = self.eval(a, False)
            vals.append(v)
            if i < len(cls.params) and cls.params[i] in cls.param_attrs:
                obj.attrs[cls.param_attrs[cls.params[i]]] = v
        for k in node.keywords:
            v = self.eval(k.value, False)
            vals.append(v)
            if k.arg in cls.param_attrs:
                obj.attrs[cls.param_attrs[k.arg]] = v
        for v in vals:
            obj.queues |= queues_in(v)
        for v in obj.attrs.values():
            obj.queues |= queues_in(v)
        if cls.process:
            obj.queues |= self.walker.free_queues(cls.node, cls.chain)
        return frozenset({obj})

    def _builtin(self, name: str, node: ast.Call) -> Any:
        if name in SAME_ITEMS and node.args:
            args = self._args(node, False)
            return frozenset({Obj(Kind.SEQ, elems=set(elems(args[0])))})
        if name in ("zip", "enumerate"):
            args = [self.eval(a, False) for a in node.args]
            for k in node.keywords:
                self.eval(k.value, False)
            parts: tuple[Objs, ...] = (
                (EMPTY, elems(args[0])) if name == "enumerate" and args else tuple(elems(a) for a in args)
            )
            pair = Obj(Kind.SEQ, items=parts, elems=set().union(*parts) if parts else set())
            return frozenset({Obj(Kind.SEQ, elems={pair})})
        if name == "dict":
            args = self._args(node, False)
            return frozenset({Obj(Kind.SEQ, elems=set(_objs(union(*args))))})
        return MISSING

    def e_seq(self, node: ast.Tuple | ast.List | ast.Set, esc: bool) -> Objs:
        vals = [self.eval(e, esc) for e in node.elts]
        items = tuple(v if isinstance(v, frozenset) else EMPTY for v in vals)
        return frozenset({Obj(Kind.SEQ, elems=set().union(*items) if items else set(), items=items)})

    def e_dict(self, node: ast.Dict, esc: bool) -> Objs:
        for k in node.keys:
            if k is not None:
                self.eval(k, False)
        vals = [self.eval(v, esc) for v in node.values]
        return frozenset({Obj(Kind.SEQ, elems=set(_objs(union(*vals))))})

    def e_subscript(self, node: ast.Subscript, esc: bool) -> Any:
        base = self.eval(node.value, False)
        self.eval(node.slice, False)
        out = base if isinstance(node.slice, ast.Slice) else (elems(base) or None)
        if esc:
            self.escape(out, node)
        return out

    def e_binop(self, node: ast.BinOp, esc: bool) -> Any:
        # a + b + c + ... nests to the left: walk that spine in a loop, since generated code
        # has sums of thousands of terms that recursion would not survive.
        operands: list[ast.expr] = []
        left: ast.expr = node
        while isinstance(left, ast.BinOp):
            operands.append(left.right)
            left = left.left
        operands.append(left)
        return union(*(self.eval(o, esc) for o in reversed(operands)))

    def e_boolop(self, node: ast.BoolOp, esc: bool) -> Any:
        return union(*(self.eval(v, esc) for v in node.values))

    def e_ifexp(self, node: ast.IfExp, esc: bool) -> Any:
        self.eval(node.test, False)
        return union(self.eval(node.body, esc), self.eval(node.orelse, esc))

    def e_namedexpr(self, node: ast.NamedExpr, esc: bool) -> Any:
        v = self.eval(node.value, esc)
        self.bind(node.target, v)
        return v

    def e_starred(self, node: ast.Starred, esc: bool) -> Any:
        return self.eval(node.value, esc)

    def e_await(self, node: ast.Await, esc: bool) -> Any:
        return self.eval(node.value, esc)

    def e_lambda(self, node: ast.Lambda, esc: bool) -> None:
        # Deferred code, read here: a read inside counts as a read near this point (silence).
        self.eval(node.body, True)

    def _comprehension(self, gen: ast.comprehension) -> None:
        it = self.eval(gen.iter, False)
        self.bind(gen.target, elems(it) or None)
        for cond in gen.ifs:
            self.eval(cond, False)

    def e_comp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp, esc: bool) -> Objs:
        self.loops.append(id(node))
        for gen in node.generators:
            self._comprehension(gen)
        v = self.eval(node.elt, esc)
        self.loops.pop()
        return frozenset({Obj(Kind.SEQ, elems=set(_objs(v)))})

    def e_dictcomp(self, node: ast.DictComp, esc: bool) -> Objs:
        self.loops.append(id(node))
        for gen in node.generators:
            self._comprehension(gen)
        self.eval(node.key, False)
        v = self.eval(node.value, esc)
        self.loops.pop()
        return frozenset({Obj(Kind.SEQ, elems=set(_objs(v)))})


EXPRS: dict[type, Callable[[Exprs, Any, bool], Any]] = {
    ast.Constant: Exprs.e_const,
    ast.Name: Exprs.e_name,
    ast.Attribute: Exprs.e_attribute,
    ast.Call: Exprs.e_call,
    ast.Tuple: Exprs.e_seq,
    ast.List: Exprs.e_seq,
    ast.Set: Exprs.e_seq,
    ast.Dict: Exprs.e_dict,
    ast.Subscript: Exprs.e_subscript,
    ast.BinOp: Exprs.e_binop,
    ast.BoolOp: Exprs.e_boolop,
    ast.IfExp: Exprs.e_ifexp,
    ast.NamedExpr: Exprs.e_namedexpr,
    ast.Starred: Exprs.e_starred,
    ast.Await: Exprs.e_await,
    ast.Lambda: Exprs.e_lambda,
    ast.ListComp: Exprs.e_comp,
    ast.SetComp: Exprs.e_comp,
    ast.GeneratorExp: Exprs.e_comp,
    ast.DictComp: Exprs.e_dictcomp,
}
