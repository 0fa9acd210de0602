"""Constants and helpers over the values (``model.Value``) a scope computes: the ``MISSING``
sentinel, the method and builtin names call evaluation knows, and what a value holds (the objects
in it, what iterating yields, the queues inside).
"""

from __future__ import annotations

import ast

from joinstall.lint.model import EMPTY, Kind, Obj, Objs

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
