"""Capture a proven stall: py-spy on every Python process of the tree, the wait-for cycle, the fix.

py-spy is optional. When it is missing, not allowed to attach, or hangs, the verdict and the
cycle still come from /proc, and the result says which part is missing and how to get it.
The result is a JSON-ready dict: the raw py-spy JSON (``stacks``) next to its readable
rendering (``stacks_text``), the thread table, the cycle as edges and in words, and ``text``.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Sequence
from typing import Any

from joinstall import variants
from joinstall.observe import syscalls
from joinstall.observe.procfs import ProcState, Snapshot
from joinstall.observe.verdict import StallEvidence
from joinstall.spy import labels, pyspy, stacks, text, waits, words
from joinstall.spy.graph import Edge, Graph, Kind, ThreadNode, feeding, find_cycle


def _dump_all(
    procs: Sequence[ProcState], binary: str | None, timeout: float, native: bool, locals_: bool
) -> list[pyspy.Dump]:
    if not procs:
        return []
    # One py-spy per process, all at once: the capture takes as long as the slowest dump.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(procs)) as pool:
        return list(
            pool.map(
                lambda p: pyspy.dump(p.pid, binary=binary, timeout=timeout, native=native, locals_=locals_),
                procs,
            )
        )


def _advice(graph: Graph, cycle: Sequence[Edge] | None, pythons: set[int]) -> str:
    """The queue fix, unless the cycle runs through a subprocess's output pipe instead."""
    for edge in cycle or ():
        node = edge.src
        if not isinstance(node, ThreadNode):
            continue
        c = graph.label(node)
        if c is not None and c.label is labels.Label.SUBPROCESS_WAIT:
            return variants.SUBPROCESS_ADVICE
        if edge.kind is Kind.WRITES and node.pid not in pythons:
            # A non-Python writer (head, cat) that a Python process waits for before reading.
            return variants.SUBPROCESS_ADVICE
    return variants.FIX_ADVICE


def _thread_rows(graph: Graph) -> list[dict[str, Any]]:
    rows = []
    for proc in graph.snap.procs:
        for th in proc.threads:
            c = graph.labels.get((proc.pid, th.tid))
            rows.append(
                {
                    "pid": proc.pid,
                    "tid": th.tid,
                    "role": graph.roles.get(proc.pid, proc.name),
                    "name": c.name if c and c.name else None,
                    "label": c.label.value if c else None,
                    "description": c.description if c else None,
                    "frame": c.frame.where() if c and c.frame else None,
                    "syscall": syscalls.name(th.syscall),
                    "wchan": th.wchan,
                    "source": "py-spy" if c else "/proc",
                }
            )
    return rows


def capture(
    snapshot: Snapshot,
    evidence: StallEvidence | None,
    parent_pid: int,
    *,
    binary: str | None = None,
    timeout: float = pyspy.DUMP_TIMEOUT,
    native: bool = False,
    locals_: bool = False,
) -> dict[str, Any] | None:
    """py-spy every Python process of the tree, label threads, find the cycle; None without a stall.

    Non-Python processes (``sh``, ``cat``, ``head``) are listed, not dumped; a dump that fails
    never aborts the capture: it is listed under ``missing`` with how to fix it.
    """
    if evidence is None:
        return None
    start = time.monotonic()
    pythons = [p for p in snapshot.procs if pyspy.is_python(p)]
    dumps = _dump_all(pythons, binary, timeout, native, locals_)
    graph = waits.build(snapshot, labels.of(t for d in dumps for t in d.threads), parent_pid)
    cycle = find_cycle(graph, prefer=ThreadNode(evidence.writer_pid, evidence.writer_tid))
    processes = [
        {
            "pid": p.pid,
            "role": graph.roles.get(p.pid, p.name),
            "name": p.name,
            "python": p in pythons,
            "dumped": any(d.pid == p.pid and d.ok for d in dumps),
        }
        for p in snapshot.procs
    ]
    missing = [
        {
            "pid": d.pid,
            "role": graph.roles.get(d.pid, "process"),
            "problem": d.problem.value,
            "error": d.error,
            "fix": pyspy.FIXES[d.problem],
        }
        for d in dumps
        if d.problem is not None
    ]
    open_waits = [e for e in graph.edges if e.kind is not Kind.DRAINED_BY] if not cycle else []
    result: dict[str, Any] = {
        "pyspy": pyspy.find(binary),
        "stacks": {str(d.pid): d.raw for d in dumps if d.raw is not None},
        "stacks_text": {str(d.pid): stacks.render(d.threads) for d in dumps if d.ok},
        "threads": _thread_rows(graph),
        "processes": processes,
        "cycle": [e.to_dict() for e in cycle] if cycle else [],
        "cycle_text": words.render(graph, cycle) if cycle else None,
        "open_waits": words.render_chain(graph, open_waits),
        "blocked_behind": words.render_chain(graph, feeding(graph, cycle)) if cycle else [],
        "confirmed": bool(cycle) and all(e.confirmed for e in cycle or ()),
        "missing": missing,
        "fix": _advice(graph, cycle, {p.pid for p in pythons}),
        "dump_seconds": {str(d.pid): round(d.seconds, 4) for d in dumps},
    }
    result["seconds"] = round(time.monotonic() - start, 4)
    result["text"] = text.render(result)
    return result
