"""One scope (module, function, method or class body), read once in execution order.

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
from joinstall.lint.judge import Event
from joinstall.lint.model import EMPTY, Chain, Cls, Func, Kind, Obj, Objs, Param, Qual, Value

if TYPE_CHECKING:
    from joinstall.lint.walker import FileWalker

MISSING = object()
#: Builtins whose result iterates like their first argument.
SAME_ITEMS = frozenset({"list", "tuple", "set", "sorted", "reversed", "iter", "frozenset"})
SEQ_ADD = frozenset({"append", "add", "appendleft", "insert"})
SEQ_EXTEND = frozenset({"extend", "update"})
SEQ_SAME = frozenset({"copy", "values", "pop", "popleft"})
ENDS = frozenset({"terminate", "kill", "send_signal"})


def _objs(v: object) -> Objs:
    return v if isinstance(v, frozenset) else EMPTY


def union(*values: object) -> Objs | None:
    out = [v for v in values if isinstance(v, frozenset)]
    return frozenset().union(*out) if out else None


def elems(v: object) -> Objs:
    """What iterating over ``v`` yields."""
    return frozenset(e for o in _objs(v) if o.kind is Kind.SEQ for e in o.elems)


def queues_in(v: object, depth: int = 0) -> set[Obj]:
    """The queues inside a value handed to a child: in tuples, lists, dicts and objects."""
    out: set[Obj] = set()
    if depth > 4:
        return out
    for o in _objs(v):
        if o.kind is Kind.QUEUE:
            out.add(o)
        elif o.kind is Kind.SEQ:
            out |= queues_in(frozenset(o.elems), depth + 1)
        elif o.kind is Kind.HOLDER or (o.kind is Kind.PROCESS and o.attrs):
            out |= o.queues
            for a in o.attrs.values():
                out |= queues_in(a, depth + 1)
    return out


def label(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # an AST built by hand may not unparse; the name is only for the message
        return "it"


class Scope:
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

    # --- expressions ---

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

EXPRS: dict[type, Callable[[Scope, Any, bool], Any]] = {
    ast.Constant: Scope.e_const,
    ast.Name: Scope.e_name,
    ast.Attribute: Scope.e_attribute,
    ast.Call: Scope.e_call,
    ast.Tuple: Scope.e_seq,
    ast.List: Scope.e_seq,
    ast.Set: Scope.e_seq,
    ast.Dict: Scope.e_dict,
    ast.Subscript: Scope.e_subscript,
    ast.BinOp: Scope.e_binop,
    ast.BoolOp: Scope.e_boolop,
    ast.IfExp: Scope.e_ifexp,
    ast.NamedExpr: Scope.e_namedexpr,
    ast.Starred: Scope.e_starred,
    ast.Await: Scope.e_await,
    ast.Lambda: Scope.e_lambda,
    ast.ListComp: Scope.e_comp,
    ast.SetComp: Scope.e_comp,
    ast.GeneratorExp: Scope.e_comp,
    ast.DictComp: Scope.e_dictcomp,
}
