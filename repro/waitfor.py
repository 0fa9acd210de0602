"""The hang as a wait-for graph: who waits for whom, from /proc, sharpened by py-spy's labels.

Nodes are threads and pipes. Edges say why a node cannot move until another does:

* ``waits_exit``   thread -> main thread of another process: it waits for that process to exit
  (``wait4``/``waitid`` name the pid; ``join`` polls the child's *sentinel*, a pipe whose read
  end the waiter holds and whose write end only the child holds, so EOF on it means "exited");
* ``joins_thread`` thread -> thread of the same process: it waits for that thread to finish
  (the child's main thread joining its queue feeder at exit);
* ``writes``       thread -> pipe: it sleeps in ``write()`` on that pipe, which is full;
* ``drained_by``   pipe -> thread: only that thread's process holds the read end.

A cycle in this graph is the deadlock. Everything here is pure: the graph is built from one
``procfs.Snapshot`` and optional py-spy labels, so recorded snapshots test it without processes.
Without py-spy the graph still closes from /proc alone (futex, poll and write, plus the fd
tables), but two edges are then inferences, marked ``confirmed=False``.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import platform
from collections.abc import Mapping, Sequence
from typing import Any

from repro import syscalls
from repro.procfs import ProcState, Snapshot, ThreadState
from repro.spy import Classified, Label
from repro.verdict import SLEEPING

POLLS = frozenset({"poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "restart_syscall"})
#: restart_syscall by architecture. A poll with a timeout that a ptrace attach (py-spy's)
#: interrupted continues as restart_syscall: after one dump, join's poll shows up as this.
RESTART_SYSCALL = {"x86_64": 219, "aarch64": 128}
WAITS = frozenset({"wait4", "waitid"})
#: Labels of a thread that is a queue feeder, idle or writing.
FEEDERS = frozenset({Label.FEEDER_WRITE, Label.FEEDER_IDLE})
#: What the waiting thread is doing, in words, for the end of the rendered cycle.
DOING = {
    Label.JOIN: "it is waiting in join()",
    Label.SUBPROCESS_WAIT: "it is waiting in subprocess.Popen.wait()",
    Label.EXIT_WAIT: "it is waiting at exit for its queue feeder",
    Label.FEEDER_WRITE: "it is itself blocked writing",
    Label.PUT_WRITE: "it is itself blocked writing",
    Label.READ: "it is reading something else",
}

Labels = Mapping[tuple[int, int], Classified]
_RESTART = RESTART_SYSCALL.get(platform.machine(), RESTART_SYSCALL["x86_64"])


def call_name(nr: int | None) -> str:
    """``syscalls.name``, plus restart_syscall, which this module must recognise."""
    return "restart_syscall" if nr == _RESTART and nr not in syscalls.NAMES else syscalls.name(nr)


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


# --- roles ------------------------------------------------------------------------------


def roles(snap: Snapshot, parent: int | None, labels: Labels | None = None) -> dict[int, str]:
    """A word for each process: parent, child, forkserver, resource tracker, or its name.

    From the command lines first (they hold for every start method and need no py-spy), then
    py-spy's ``_bootstrap`` frame for a child that the command line does not give away.
    """
    labels = labels or {}
    by_pid = {p.pid: p for p in snap.procs}
    out: dict[int, str] = {}

    def role(p: ProcState) -> str:
        if p.pid in out:
            return out[p.pid]
        cmd = " ".join(p.cmdline)
        up = by_pid.get(p.ppid)
        if p.pid == parent:
            r = "parent"
        elif "multiprocessing.resource_tracker" in cmd:
            r = "resource tracker"
        elif "multiprocessing.forkserver" in cmd:
            r = "child" if up is not None and role(up) == "forkserver" else "forkserver"
        elif "--multiprocessing-fork" in cmd or "multiprocessing.spawn" in cmd:
            r = "child"
        elif up is not None and up.pid == parent and p.cmdline == up.cmdline:
            r = "child"  # fork: a copy of the parent, command line and all
        elif any(c.mp_child for (pid, _), c in labels.items() if pid == p.pid):
            r = "child"
        else:
            r = p.name
        out[p.pid] = r
        return r

    for p in snap.procs:
        role(p)
    return out


# --- building the graph -----------------------------------------------------------------


def _signed32(value: int) -> int:
    """A pid_t argument as the kernel shows it: -1 appears as 0xffffffff."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _descendants(snap: Snapshot, pid: int) -> list[ProcState]:
    kids = [p for p in snap.procs if p.ppid == pid]
    return kids + [d for k in kids for d in _descendants(snap, k.pid)]


def sentinels(snap: Snapshot, proc: ProcState) -> dict[int, int]:
    """Pipes ``proc`` could be waiting on for an exit: {inode: the only process holding the write end}.

    ``Process.sentinel`` is the read end of a pipe whose write end only the child holds; when
    the child exits the write end closes, and ``join``'s poll sees EOF. With forkserver the
    write end is the forkserver's, which writes the child's exit status into it.
    """
    out = {}
    mine_w = {e.inode for e in proc.pipes if e.writable}
    for inode in sorted({e.inode for e in proc.pipes if not e.writable} - mine_w):
        holders = {p.pid for p in snap.procs for e in p.pipes if e.inode == inode and e.writable}
        if len(holders) == 1:
            out[inode] = holders.pop()
    return out


def _blocked_write(proc: ProcState, th: ThreadState) -> int | None:
    """The inode of the pipe this thread sleeps writing into, if it does."""
    if th.syscall not in syscalls.WRITES or th.state not in SLEEPING or not th.args:
        return None
    return next((e.inode for e in proc.pipes if e.fd == th.args[0] and e.writable), None)


def _name(th: ThreadState, proc: ProcState, labels: Labels) -> str:
    c = labels.get((proc.pid, th.tid))
    if c is not None and c.name:
        return c.name
    return "main thread" if th.tid == proc.pid else f"thread {th.tid}"


def _exit_targets(
    snap: Snapshot, proc: ProcState, th: ThreadState, label: Classified | None, role: Mapping[int, str]
) -> list[tuple[int, str, bool]]:
    """Processes this thread waits to exit: [(pid, basis, confirmed)]."""
    call = call_name(th.syscall)
    if call in WAITS and th.args:
        # wait4(pid, ...) / waitid(idtype, id, ...): P_ALL is 0, P_PID is 1.
        if call == "wait4":
            target = _signed32(th.args[0])
        else:
            target = _signed32(th.args[1]) if th.args[0] == 1 else -1
        kids = [p.pid for p in snap.procs if p.ppid == proc.pid]
        pids = [target] if target > 0 else kids
        how = f"{call}({target})" + (" for any child" if target <= 0 else "")
        return [(pid, f"/proc: {how}", True) for pid in pids]
    joining = label is not None and label.label is Label.JOIN
    # A poll is read as a join only when py-spy cannot tell: with a label, the label decides.
    if not joining and (label is not None or call not in POLLS):
        return []
    spy = f"py-spy: {label.frame.where()}" if joining and label and label.frame else ""
    out = []
    for inode, holder in sentinels(snap, proc).items():
        if role.get(holder) == "forkserver":
            # The forkserver holds every child's status pipe: the one we wait for is its child.
            for kid in (p for p in snap.procs if p.ppid == holder and role.get(p.pid) == "child"):
                basis = f"/proc: {call} + sentinel pipe:[{inode}] written by forkserver {holder}"
                out.append((kid.pid, "; ".join(filter(None, [spy, basis])), joining))
        elif holder != proc.pid and any(p.pid == holder and p.ppid == proc.pid for p in snap.procs):
            basis = f"/proc: {call} + sentinel pipe:[{inode}], write end held only by {holder}"
            out.append((holder, "; ".join(filter(None, [spy, basis])), joining))
    if not out and joining:
        # No sentinel pipe seen: take the descendants py-spy or the command line call children.
        for kid in _descendants(snap, proc.pid):
            if role.get(kid.pid) == "child":
                out.append((kid.pid, f"{spy}; child found among the descendants", True))
    return out


def build(snap: Snapshot, labels: Labels | None = None, parent: int | None = None) -> Graph:
    """The wait-for graph of one snapshot. ``labels`` are py-spy's, keyed by (pid, tid)."""
    labels = dict(labels or {})
    role = roles(snap, parent, labels)
    edges: list[Edge] = []
    full: dict[int, ThreadNode] = {}
    for proc in snap.procs:
        writing = {th.tid: _blocked_write(proc, th) for th in proc.threads}
        for th in proc.threads:
            me = ThreadNode(proc.pid, th.tid)
            label = labels.get((proc.pid, th.tid))
            inode = writing[th.tid]
            if inode is not None:
                spy = f"; py-spy: {label.frame.where()}" if label and label.frame else ""
                basis = f"/proc: write(fd {th.args[0]}) [wchan {th.wchan or '?'}]{spy}"
                edges.append(Edge(Kind.WRITES, me, PipeNode(inode), basis, True, th.args[2]))
                full.setdefault(inode, me)
                continue
            for pid, basis, confirmed in _exit_targets(snap, proc, th, label, role):
                edges.append(Edge(Kind.WAITS_EXIT, me, ThreadNode(pid, pid), basis, confirmed))
            edges += _joins(proc, th, label, labels, writing)
    for inode in full:
        edges += _drains(snap, inode, labels)
    return Graph(snap, tuple(edges), labels, role)


def _joins(
    proc: ProcState,
    th: ThreadState,
    label: Classified | None,
    labels: Labels,
    writing: Mapping[int, int | None],
) -> list[Edge]:
    me = ThreadNode(proc.pid, th.tid)
    others = [t for t in proc.threads if t.tid != th.tid]
    if label is not None and label.label is Label.EXIT_WAIT:
        feeders = [t for t in others if (c := labels.get((proc.pid, t.tid))) and c.label in FEEDERS]
        where = label.frame.where() if label.frame else "exit"
        return [
            Edge(Kind.JOINS_THREAD, me, ThreadNode(proc.pid, t.tid), f"py-spy: {where}", True)
            for t in feeders
        ]
    if label is None and th.tid == proc.pid and syscalls.name(th.syscall) == "futex":
        # Only /proc: a main thread in a futex wait while another thread of its process is
        # blocked writing a pipe is, in this program, joining that thread at exit.
        return [
            Edge(
                Kind.JOINS_THREAD,
                me,
                ThreadNode(proc.pid, t.tid),
                f"/proc: futex wait, and thread {t.tid} is blocked writing (inferred: py-spy would confirm)",
                False,
            )
            for t in others
            if writing.get(t.tid) is not None
        ]
    return []


def _drains(snap: Snapshot, inode: int, labels: Labels) -> list[Edge]:
    """pipe -> every thread of every process holding its read end.

    A writer's own process usually holds the read end too (a Queue keeps both); when somebody
    else also holds it, the edges go to the others, since the writer's process never reads its
    own queue: its threads are the ones waiting.
    """
    readers = [p for p in snap.procs if any(e.inode == inode and not e.writable for e in p.pipes)]
    blocked_writers = {p.pid for p in snap.procs for th in p.threads if _blocked_write(p, th) == inode}
    others = [p for p in readers if p.pid not in blocked_writers]
    chosen = others or readers
    held = sorted(p.pid for p in readers if p not in chosen)
    extra = (
        f"; also held by {', '.join(map(str, held))}, whose threads are blocked writing it" if held else ""
    )
    return [
        Edge(Kind.DRAINED_BY, PipeNode(inode), ThreadNode(p.pid, th.tid), f"/proc: fd table{extra}", True)
        for p in chosen
        for th in p.threads
    ]


# --- the cycle --------------------------------------------------------------------------


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


# --- words ------------------------------------------------------------------------------


def _who(graph: Graph, pid: int) -> str:
    return f"{graph.roles.get(pid, 'process')} {pid}"


def _thread(graph: Graph, node: ThreadNode) -> str:
    proc = graph.snap.proc(node.pid)
    c = graph.label(node)
    if c is not None and c.name:
        return c.name
    if proc is None or node.tid == node.pid:
        return "main thread"
    return f"thread {node.tid}"


def _who_thread(graph: Graph, node: ThreadNode) -> str:
    """``parent 12 (MainThread)``; a single-threaded process without py-spy names is just ``sh 14``."""
    proc = graph.snap.proc(node.pid)
    if graph.label(node) is None and proc is not None and len(proc.threads) == 1:
        return _who(graph, node.pid)
    return f"{_who(graph, node.pid)} ({_thread(graph, node)})"


def _state(graph: Graph, node: ThreadNode) -> str:
    c = graph.label(node)
    if c is not None and c.label in DOING:
        return DOING[c.label]
    proc = graph.snap.proc(node.pid)
    th = next((t for t in proc.threads if t.tid == node.tid), None) if proc else None
    call = call_name(th.syscall) if th else "unknown"
    hint = " (where join() waits)" if call in POLLS else ""
    return f"it is asleep in {call}{hint}"


def say(graph: Graph, edge: Edge, after: Edge | None = None) -> str:
    """One edge in words; ``after`` is the edge before it in the chain, for short references."""
    if isinstance(edge.src, ThreadNode):
        src = edge.src
        short = after is not None and after.kind is Kind.JOINS_THREAD and after.dst == src
        me = _thread(graph, src) if short else _who_thread(graph, src)
        if edge.kind is Kind.WAITS_EXIT:
            return f"{me} waits for {_who(graph, edge.dst.pid)} to exit"  # type: ignore[union-attr]
        if edge.kind is Kind.JOINS_THREAD:
            assert isinstance(edge.dst, ThreadNode)
            return f"{me} waits for its {_thread(graph, edge.dst)}"
        assert isinstance(edge.dst, PipeNode)
        pipe = graph.snap.pipe(edge.dst.inode)
        level = f", full at {pipe.fill:,}/{pipe.capacity:,}" if pipe else ""
        return f"{me} is blocked writing {edge.nbytes:,} bytes into pipe:[{edge.dst.inode}]{level}"
    assert isinstance(edge.dst, ThreadNode)
    inode = edge.src.inode
    readers = sorted({e.dst.pid for e in graph.out(edge.src) if isinstance(e.dst, ThreadNode)})
    names = " and ".join(_who(graph, pid) for pid in readers)
    held = [
        p.pid for p in graph.snap.procs
        if p.pid not in readers and any(e.inode == inode and not e.writable for e in p.pipes)
    ]  # fmt: skip
    holders = ", ".join(_who(graph, pid) for pid in held)
    also = f" ({holders} holds the read end too, but none of its threads reads it)" if held else ""
    return f"only {names} can read that pipe{also}, and {_state(graph, edge.dst)}"


def render(graph: Graph, cycle: Sequence[Edge]) -> str:
    """The cycle as one sentence with arrows."""
    parts = [say(graph, e, cycle[i - 1] if i else None) for i, e in enumerate(cycle)]
    return " → ".join(parts) + "."


def render_chain(graph: Graph, edges: Sequence[Edge]) -> list[str]:
    return [say(graph, e) for e in edges]
