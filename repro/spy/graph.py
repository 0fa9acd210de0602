"""The hang as a wait-for graph: who waits for whom, and the cycle that is the deadlock.

Nodes are threads and pipes. Edges say why a node cannot move until another does:

* ``waits_exit``   thread -> main thread of another process: it waits for that process to exit;
* ``joins_thread`` thread -> thread of the same process: it waits for that thread to finish
  (the child's main thread joining its queue feeder at exit);
* ``writes``       thread -> pipe: it sleeps in ``write()`` on that pipe, which is full;
* ``drained_by``   pipe -> thread: only that thread's process holds the read end.

A cycle in this graph is the deadlock. ``joinstall.spy.waits`` builds the graph from /proc.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from joinstall.observe.procfs import Snapshot
from joinstall.spy.labels import Classified, Labels


@dataclasses.dataclass(frozen=True)
class ThreadNode:
    pid: int
    tid: int


@dataclasses.dataclass(frozen=True)
class PipeNode:
    inode: int


Node = ThreadNode | PipeNode


class Kind(str, enum.Enum):
    WAITS_EXIT = "waits_exit"
    JOINS_THREAD = "joins_thread"
    WRITES = "writes"
    DRAINED_BY = "drained_by"
    #: A reader (py-spy: in Queue.get / recv) waits for data that only another process writes.
    WAITS_DATA = "waits_data"


@dataclasses.dataclass(frozen=True)
class Edge:
    kind: Kind
    src: Node
    dst: Node
    #: What the edge rests on, in words: the syscall, the fd table, the py-spy frame.
    basis: str
    #: False when only /proc suggests it (a futex or poll whose target we cannot read).
    confirmed: bool
    #: ``writes``: the bytes the blocked write() asked for.
    nbytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        def node(n: Node) -> dict[str, Any]:
            if isinstance(n, PipeNode):
                return {"pipe": n.inode}
            return {"pid": n.pid, "tid": n.tid}

        out: dict[str, Any] = {"kind": self.kind.value, "from": node(self.src), "to": node(self.dst)}
        out.update(basis=self.basis, confirmed=self.confirmed)
        if self.kind is Kind.WRITES:
            out["bytes"] = self.nbytes
        return out


@dataclasses.dataclass(frozen=True)
class Graph:
    snap: Snapshot
    edges: tuple[Edge, ...]
    labels: Labels
    roles: Mapping[int, str]

    def out(self, node: Node) -> list[Edge]:
        return [e for e in self.edges if e.src == node]

    def label(self, node: ThreadNode) -> Classified | None:
        return self.labels.get((node.pid, node.tid))


def _cycle_from(graph: Graph, start: Node) -> tuple[Edge, ...] | None:
    """The shortest cycle through ``start`` (breadth first), or None."""
    prev: dict[Node, Edge] = {}
    todo: collections.deque[Node] = collections.deque([start])
    seen = {start}
    while todo:
        node = todo.popleft()
        for edge in graph.out(node):
            if edge.dst == start:
                path = [edge]
                while path[0].src != start:
                    path.insert(0, prev[path[0].src])
                return tuple(path)
            if edge.dst not in seen:
                seen.add(edge.dst)
                prev[edge.dst] = edge
                todo.append(edge.dst)
    return None


def find_cycle(graph: Graph, prefer: ThreadNode | None = None) -> tuple[Edge, ...] | None:
    """The deadlock: the shortest cycle through any blocked writer (``prefer`` wins ties).

    Rotated so that it starts with the thread the pipe is waiting on, as a person would tell
    it: "the parent waits for the child, ..., and only the parent could read the pipe".
    """
    starts = [e.src for e in graph.edges if e.kind is Kind.WRITES]
    starts.sort(key=lambda n: n != prefer)
    best: tuple[Edge, ...] | None = None
    for node in starts:
        found = _cycle_from(graph, node)
        if found and (best is None or len(found) < len(best)):
            best = found
    if best is None:
        return None
    cut = next((i + 1 for i, e in enumerate(best) if e.kind is Kind.DRAINED_BY), 0) % len(best)
    return best[cut:] + best[:cut]


def feeding(graph: Graph, cycle: Sequence[Edge]) -> list[Edge]:
    """Edges from outside the cycle into it: who else is stuck behind it."""
    inside = {e.src for e in cycle}
    return [
        e for e in graph.edges if e.src not in inside and e.dst in inside and e.kind is not Kind.DRAINED_BY
    ]
