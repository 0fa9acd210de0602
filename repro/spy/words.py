"""The wait-for graph in plain words: one edge per phrase, a cycle as one sentence with arrows."""

from __future__ import annotations

from collections.abc import Sequence

from joinstall.observe import names, syscalls
from joinstall.spy.graph import Edge, Graph, Kind, PipeNode, ThreadNode
from joinstall.spy.labels import Label
from joinstall.spy.waits import POLLS

#: What the waiting thread is doing, in words, for the end of the rendered cycle.
DOING = {
    Label.JOIN: "it is waiting in join()",
    Label.SUBPROCESS_WAIT: "it is waiting in subprocess.Popen.wait()",
    Label.EXIT_WAIT: "it is waiting at exit for its queue feeder",
    Label.FEEDER_WRITE: "it is itself blocked writing",
    Label.PUT_WRITE: "it is itself blocked writing",
    Label.READ: "it is reading something else",
}


def _who(graph: Graph, pid: int) -> str:
    return names.process(pid, graph.roles)


def _thread(graph: Graph, node: ThreadNode) -> str:
    c = graph.label(node)
    return names.thread(node.pid, node.tid, c.name if c else None)


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
    call = syscalls.name(th.syscall) if th else "unknown"
    hint = " (where join() waits)" if call in POLLS else ""
    return f"it is asleep in {call}{hint}"


def say(graph: Graph, edge: Edge, after: Edge | None = None) -> str:
    """One edge in words; ``after`` is the edge before it in the chain, for short references."""
    if isinstance(edge.src, ThreadNode):
        src = edge.src
        short = after is not None and after.kind is Kind.JOINS_THREAD and after.dst == src
        me = _thread(graph, src) if short else _who_thread(graph, src)
        if edge.kind is Kind.WAITS_EXIT:
            assert isinstance(edge.dst, ThreadNode)
            return f"{me} waits for {_who(graph, edge.dst.pid)} to exit"
        if edge.kind is Kind.JOINS_THREAD:
            assert isinstance(edge.dst, ThreadNode)
            return f"{me} waits for its {_thread(graph, edge.dst)}"
        if edge.kind is Kind.WAITS_DATA:
            assert isinstance(edge.dst, ThreadNode)
            return f"{me} waits for data that only {_who(graph, edge.dst.pid)} can send"
        assert isinstance(edge.dst, PipeNode)
        pipe = graph.snap.pipe(edge.dst.inode)
        level = ""
        if pipe and pipe.fill >= pipe.capacity:
            level = f", full at {pipe.fill:,}/{pipe.capacity:,}"
        elif pipe:
            # Linux hands out room by page slots: a pipe can be out of room with bytes to spare.
            level = f", out of room at {pipe.fill:,}/{pipe.capacity:,} bytes (room is counted in page slots)"
        return f"{me} is blocked writing {edge.nbytes:,} bytes into pipe:[{edge.dst.inode}]{level}"
    assert isinstance(edge.dst, ThreadNode)
    inode = edge.src.inode
    readers = sorted({e.dst.pid for e in graph.out(edge.src) if isinstance(e.dst, ThreadNode)})
    who = " and ".join(_who(graph, pid) for pid in readers)
    held = [
        p.pid for p in graph.snap.procs
        if p.pid not in readers and any(e.inode == inode and not e.writable for e in p.pipes)
    ]  # fmt: skip
    holders = ", ".join(_who(graph, pid) for pid in held)
    also = f" ({holders} holds the read end too, but none of its threads reads it)" if held else ""
    return f"only {who} can read that pipe{also}, and {_state(graph, edge.dst)}"


def render(graph: Graph, cycle: Sequence[Edge]) -> str:
    """The cycle as one sentence with arrows."""
    parts = [say(graph, e, cycle[i - 1] if i else None) for i, e in enumerate(cycle)]
    return " → ".join(parts) + "."


def render_chain(graph: Graph, edges: Sequence[Edge]) -> list[str]:
    """Edges that do not close a cycle, one phrase each."""
    return [say(graph, e) for e in edges]
