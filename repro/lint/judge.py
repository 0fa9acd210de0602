"""The rules, decided on one scope's events in the order they happen: a pure function.

The scope walker records what happens to each abstract object (``get``: a read of a queue;
``use``: the queue handed to code that may read it; ``join``, ``wait``, ``read`` of a pipe).
Deciding afterwards keeps the rules in one place and testable without a walk.
"""

from __future__ import annotations

import ast
import dataclasses

from joinstall.lint.model import Kind, Obj, Objs


@dataclasses.dataclass(frozen=True)
class Event:
    seq: int
    #: ``get`` | ``use`` (a queue) | ``join`` | ``end`` (terminate, kill) | ``make`` | ``wait`` | ``read``
    kind: str
    objs: Objs
    node: ast.AST
    #: The loops (of this scope) the event sits in, outermost first.
    loops: tuple[int, ...] = ()
    #: A join with a timeout: inside a loop that also reads the queue, it is a polling loop.
    timeout: bool = False
    #: What the join or wait was called on, as written (``p``, ``self.workers``).
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Hit:
    code: str
    line: int
    #: 0-based, as in ``ast`` and flake8's plugin interface.
    col: int
    names: dict[str, str]


def _before(events: list[Event], kinds: tuple[str, ...], obj: Obj, seq: int) -> bool:
    """Did an event of one of ``kinds`` happen to ``obj`` before event number ``seq``?"""
    return any(e.seq < seq and e.kind in kinds and obj in e.objs for e in events)


def _polls(join: Event, get: Event) -> bool:
    """A join with a timeout in the same loop as a read: the loop drains between its joins."""
    return join.timeout and bool(set(join.loops) & set(get.loops))


def _stalled_queue(events: list[Event], join: Event) -> Obj | None:
    """The first queue the joined children received that is drained only after the join."""
    queues = {q for o in join.objs for q in o.queues}
    for q in sorted(queues, key=lambda q: q.name):
        if _before(events, ("get", "use"), q, join.seq):
            continue
        if any(e.kind == "get" and e.seq > join.seq and q in e.objs and not _polls(join, e) for e in events):
            return q
    return None


def judge(events: list[Event]) -> list[Hit]:
    """JS101, JS102 and JS103 for one scope (JS104 needs no order and is found during the walk)."""
    hits: list[Hit] = []
    for e in events:
        line, col = getattr(e.node, "lineno", 0), getattr(e.node, "col_offset", 0)
        if e.kind == "join":
            if all(_before(events, ("end",), o, e.seq) for o in e.objs):
                continue
            q = _stalled_queue(events, e)
            if q is not None:
                code = "JS101" if any(o.kind is Kind.PROCESS for o in e.objs) else "JS103"
                hits.append(Hit(code, line, col, {"joined": e.label, "queue": q.name or "the queue"}))
        elif e.kind == "wait":
            for p in e.objs:
                if not p.piped or _before(events, ("read", "end"), p, e.seq):
                    continue
                # Made elsewhere (another method), its pipe may have been read there: only a read
                # after the wait, here, shows that it was not.
                here = any(m.kind == "make" and p in m.objs for m in events)
                if here or any(r.seq > e.seq and r.kind == "read" and p in r.objs for r in events):
                    hits.append(Hit("JS102", line, col, {"proc": e.label}))
                    break
    return hits
