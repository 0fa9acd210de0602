"""The wait-for graph of one diagnosis as a figure's data: nodes on circles, arrows, short labels.

A proven hang: the threads of the cycle on a circle, in the cycle's order, an arrow from each
thread to the one it waits for; threads stuck behind the cycle on an outer circle, with arrows
to the threads of the cycle they wait for (else to other stuck threads). Anything else: the
threads in a blocking wait on the circle, with arrows to what can end their waits: the live
threads that could (outer circle), or the world outside the tree; a wait with no live waker
points at the waits it hangs on. A wait that many threads could end (a pipe end every thread of
two processes holds) gets one arrow per process, main thread first, and says how many more
threads could end it. A pure function of the Diagnosis (and of its Evidence).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection

from joinstall.engine.diagnosis import Diagnosis, ThreadInfo
from joinstall.engine.waits import Tid

#: Kinds of node, in the order the legend lists them.
GROUPS = ("cycle", "behind", "blocked", "live", "outside")
OUTSIDE = "outside"
#: Wakers drawn for one wait; the arrow of the last one says how many were left out.
MAX_WAKERS = 3
#: Radii of the inner circle (the cycle, or the blocked waits) and of the outer one.
INNER, OUTER = 1.0, 1.9
_FILE = re.compile(r"(?:pipe|socket):\[\d+\]")


@dataclasses.dataclass(frozen=True)
class Node:
    key: str
    #: ``main thread of parent 123``, ``QueueFeederThread 13 of child 12``, ``outside the tree``.
    label: str
    group: str
    x: float
    y: float


@dataclasses.dataclass(frozen=True)
class Edge:
    """``source`` waits for ``target``: any one of a wait's targets could end it."""

    source: str
    target: str
    #: The wait in brief: ``write pipe:[123]``, ``wait4``, ``lock``.
    label: str
    group: str


@dataclasses.dataclass(frozen=True)
class WaitGraph:
    verdict: str
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    #: Said in the figure when there is little or nothing to draw.
    note: str = ""

    def node(self, key: str) -> Node:
        return next(n for n in self.nodes if n.key == key)


def key(t: Tid) -> str:
    return f"{t[0]}/{t[1]}"


def label(info: ThreadInfo) -> str:
    return f"{info.name} of {info.process}"


def brief(info: ThreadInfo) -> str:
    """A wait in a few words, from what the diagnosis says of the thread."""
    found = _FILE.search(info.what)
    on = f" {found.group(0)}" if found else ""
    text = {
        "pipe_write": f"write{on}",
        "pipe_read": f"read{on}",
        "exit": info.syscall or "wait",
        "futex": "lock",
        "shared_futex": "semaphore",
        "poll": f"{info.syscall or 'poll'}{on}",
        "socket_read": f"{info.syscall or 'recv'}{on}",
        "socket_write": f"{info.syscall or 'send'}{on}",
    }.get(info.wait, info.wait)
    return f"{text} (up to {info.timeout:g} s)" if info.timeout is not None else text


def compute(d: Diagnosis) -> WaitGraph:
    threads = {(t.pid, t.tid): t for t in d.threads}
    head = f"{d.verdict.value.upper()}: "
    if d.cycle_threads:
        return _proven(d, threads, head + "the wait-for cycle")
    return _open(d, threads, head + "what the waits depend on")


def _proven(d: Diagnosis, threads: dict[Tid, ThreadInfo], title: str) -> WaitGraph:
    ring = list(d.cycle_threads)
    behind = [t for t, info in threads.items() if info.stuck and t not in ring]
    edges = [
        Edge(key(t), key(ring[(i + 1) % len(ring)]), brief(threads[t]), "cycle") for i, t in enumerate(ring)
    ]
    note = ""
    if d.evidence is not None:
        knot = d.evidence.analyse()
        for t in behind:
            # What it waits for on the cycle, if anything: that is what holds it.
            wakers = knot.waits[t].wakers & knot.stuck
            edges += _fan(t, _narrow(wakers, set(ring)), len(wakers), brief(threads[t]), "behind")
    elif behind:
        note = "without its evidence, what the threads behind the cycle wait for is not known"
    nodes = _circle(ring, threads, "cycle", INNER) + _circle(behind, threads, "behind", OUTER)
    return WaitGraph(d.verdict.value, title, tuple(nodes), tuple(edges), note)


def _open(d: Diagnosis, threads: dict[Tid, ThreadInfo], title: str) -> WaitGraph:
    if d.evidence is None:
        waiting = [t for t, info in threads.items() if info.wait not in ("live", "gone")]
        nodes = _circle(waiting, threads, "blocked", INNER)
        note = "without its evidence, only the waits can be drawn, not what they depend on"
        return WaitGraph(d.verdict.value, title, tuple(nodes), (), note if waiting else "no thread waits")
    waits = d.evidence.analyse().waits
    blocked = sorted(t for t, w in waits.items() if w.blocking or w.outside)
    edges: list[Edge] = []
    for t in blocked:
        w = waits[t]
        live = {k for k in w.wakers if k not in blocked}
        # What can end the wait: its live wakers, when it has any, else the waits it hangs on.
        fanned = _fan(t, _narrow(w.wakers, live), len(w.wakers), brief(threads[t]), "live")
        edges += [
            dataclasses.replace(e, group="blocked" if e.target not in map(key, live) else "live")
            for e in fanned
        ]
        if w.outside:
            edges.append(Edge(key(t), OUTSIDE, brief(threads[t]), OUTSIDE))
    drawn = {key(t) for t in blocked}
    others = sorted({t for t in threads if key(t) in {e.target for e in edges} - drawn})
    away = any(e.target == OUTSIDE for e in edges)
    nodes = _circle(blocked, threads, "blocked", INNER) + _circle(others, threads, "live", OUTER, away=away)
    return WaitGraph(d.verdict.value, title, tuple(nodes), tuple(edges), "" if nodes else "no thread waits")


def _narrow(wakers: Collection[Tid], preferred: Collection[Tid]) -> list[Tid]:
    """The preferred wakers if there are any, else all; main threads first."""
    chosen = [k for k in wakers if k in preferred] or list(wakers)
    return sorted(chosen, key=lambda k: (k[0] != k[1], k))


def _fan(t: Tid, wakers: list[Tid], total: int, what: str, group: str) -> list[Edge]:
    """An arrow from ``t`` to the first of ``wakers`` of each process; the last says how many of
    the ``total`` wakers have none."""
    shown: list[Tid] = []
    for k in wakers:
        if all(s[0] != k[0] for s in shown):
            shown.append(k)
    shown = shown[:MAX_WAKERS]
    more = total - len(shown)
    tail = f" (+{more} more thread{'s' if more > 1 else ''})" if more else ""
    return [
        Edge(key(t), key(k), what + (tail if i == len(shown) - 1 else ""), group) for i, k in enumerate(shown)
    ]


def _circle(
    tids: list[Tid], threads: dict[Tid, ThreadInfo], group: str, radius: float, *, away: bool = False
) -> list[Node]:
    """Nodes evenly on a circle, clockwise from the top (the outer circle offset by half a step);
    ``away``: the world outside the tree is one node more."""
    items = [(key(t), label(threads[t]), group) for t in tids]
    if away:
        items.append((OUTSIDE, "outside the tree", OUTSIDE))
    n = max(len(items), 1)
    offset = math.pi / n if radius != INNER else 0.0
    out = []
    for i, (k, text, kind) in enumerate(items):
        angle = math.pi / 2 - offset - 2 * math.pi * i / n
        out.append(
            Node(k, text, kind, round(radius * math.cos(angle), 6), round(radius * math.sin(angle), 6))
        )
    return out
