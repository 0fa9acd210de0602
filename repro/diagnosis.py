"""Diagnose a proven stall: py-spy on every Python process of the tree, the wait-for cycle, the fix.

Two ways in:

* ``capture(snapshot, evidence, parent_pid)``: the harness calls it at proof time, before it
  kills the tree it started;
* ``diagnose_pid(pid)``: ``joinstall spy --pid PID`` on a tree joinstall did not start (the
  production case): it samples the tree itself until the stall is proven, then captures.

py-spy is optional. When it is missing, not allowed to attach, or hangs, the verdict and the
cycle still come from /proc, and the result says which part is missing and how to get it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import re
import time
from collections.abc import Sequence
from typing import Any

from repro import procfs, spy, variants, waitfor
from repro.errors import PlatformError, UsageError
from repro.procfs import ProcState, Snapshot
from repro.verdict import StallEvidence, describe, prove_stall

#: Defaults for the harness's three-argument call; keyword arguments override them per call.
NATIVE = False
LOCALS = False
DUMP_TIMEOUT = spy.DUMP_TIMEOUT
#: ``spy --pid``: sample this often, and give up (not stalled) after this long.
SAMPLE_INTERVAL = 0.005
SAMPLE_BUDGET = 1.0
PROOF_WINDOW = 0.02
SUBPROCESS_ADVICE = (
    "read the subprocess's output before waiting for it: use proc.communicate() instead of proc.wait()"
)
_PYTHON_EXE = re.compile(r"^python(\d+(\.\d+)*)?[a-z]*$")


def is_python(proc: ProcState) -> bool:
    """Whether py-spy can be expected to read this process (a CPython), from /proc."""
    try:
        exe = os.path.basename(os.readlink(f"{procfs.PROC}/{proc.pid}/exe"))
    except OSError:
        exe = os.path.basename(proc.cmdline[0]) if proc.cmdline else proc.name
    if _PYTHON_EXE.match(exe) or _PYTHON_EXE.match(proc.name):
        return True
    try:
        with open(f"{procfs.PROC}/{proc.pid}/maps") as f:
            return "libpython" in f.read()
    except OSError:
        return False


def _dump_all(
    procs: Sequence[ProcState], binary: str | None, timeout: float, native: bool, locals_: bool
) -> list[spy.Dump]:
    if not procs:
        return []
    # One py-spy per process, all at once: the capture takes as long as the slowest dump.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(procs)) as pool:
        return list(
            pool.map(
                lambda p: spy.dump(p.pid, binary=binary, timeout=timeout, native=native, locals_=locals_),
                procs,
            )
        )


def _advice(graph: waitfor.Graph, cycle: Sequence[waitfor.Edge] | None, pythons: set[int]) -> str:
    """The queue fix, unless the cycle runs through a subprocess's output pipe instead."""
    for edge in cycle or ():
        node = edge.src
        if not isinstance(node, waitfor.ThreadNode):
            continue
        c = graph.label(node)
        if c is not None and c.label is spy.Label.SUBPROCESS_WAIT:
            return SUBPROCESS_ADVICE
        if edge.kind is waitfor.Kind.WRITES and node.pid not in pythons:
            # A non-Python writer (head, cat) that a Python process waits for before reading.
            return SUBPROCESS_ADVICE
    return variants.FIX_ADVICE


def _thread_lines(graph: waitfor.Graph, dumps: Sequence[spy.Dump]) -> list[dict[str, Any]]:
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
                    "syscall": waitfor.call_name(th.syscall),
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
    timeout: float | None = None,
    native: bool | None = None,
    locals_: bool | None = None,
) -> dict[str, Any] | None:
    """py-spy every Python process of the tree, label threads, find the cycle; None without a stall.

    Non-Python processes (``sh``, ``cat``, ``head``) are listed, not dumped; a dump that fails
    never aborts the capture: it is listed under ``missing`` with how to fix it.
    """
    if evidence is None:
        return None
    start = time.monotonic()
    timeout = DUMP_TIMEOUT if timeout is None else timeout
    native = NATIVE if native is None else native
    locals_ = LOCALS if locals_ is None else locals_
    pythons = [p for p in snapshot.procs if is_python(p)]
    dumps = _dump_all(pythons, binary, timeout, native, locals_)
    labels = {(c.pid, c.tid): c for d in dumps for c in map(spy.classify, d.threads)}
    graph = waitfor.build(snapshot, labels, parent_pid)
    writer = waitfor.ThreadNode(evidence.writer_pid, evidence.writer_tid)
    cycle = waitfor.find_cycle(graph, prefer=writer)
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
            "fix": spy.FIXES[d.problem],
        }
        for d in dumps
        if d.problem is not None
    ]
    advice = _advice(graph, cycle, {p.pid for p in pythons})
    result: dict[str, Any] = {
        "pyspy": spy.find(binary),
        "stacks": {str(d.pid): d.raw for d in dumps if d.raw is not None},
        "threads": _thread_lines(graph, dumps),
        "processes": processes,
        "cycle": [e.to_dict() for e in cycle] if cycle else [],
        "cycle_text": waitfor.render(graph, cycle) if cycle else None,
        "blocked_behind": [waitfor.say(graph, e) for e in waitfor.feeding(graph, cycle)] if cycle else [],
        "confirmed": bool(cycle) and all(e.confirmed for e in cycle or ()),
        "missing": missing,
        "fix": advice,
        "dump_seconds": {str(d.pid): round(d.seconds, 4) for d in dumps},
    }
    result["seconds"] = round(time.monotonic() - start, 4)
    result["text"] = text(result, graph)
    return result


def text(result: dict[str, Any], graph: waitfor.Graph) -> str:
    """The capture in plain words: the cycle first, then the threads, what is missing, the fix."""
    lines = []
    spied = any(p["dumped"] for p in result["processes"])
    if result["cycle_text"]:
        how = "py-spy + /proc" if spied else "/proc alone"
        lines.append(f"WAIT-FOR CYCLE ({how}): {result['cycle_text']}")
        inferred = [e for e in result["cycle"] if not e["confirmed"]]
        lines += [f"  (inferred) {e['basis']}" for e in inferred]
        lines += [f"  also stuck behind it: {s}" for s in result["blocked_behind"]]
    else:
        chain = [waitfor.say(graph, e) for e in graph.edges if e.kind is not waitfor.Kind.DRAINED_BY]
        lines.append("WAIT-FOR CYCLE: not closed from what could be seen; waits found: " + "; ".join(chain))
    lines.append("THREADS:")
    for row in result["threads"]:
        name = row["name"] or ("main thread" if row["tid"] == row["pid"] else f"thread {row['tid']}")
        who = f"{row['role']} {row['pid']} {name}"
        if row["label"]:
            lines.append(f"  {who}: {row['label']} — {row['description']}; at {row['frame'] or '?'}")
        else:
            lines.append(f"  {who}: in {row['syscall']} [wchan {row['wchan'] or '?'}] (from /proc)")
    listed = [p for p in result["processes"] if not p["python"]]
    if listed:
        names = ", ".join(f"{p['name']} {p['pid']}" for p in listed)
        lines.append(f"NOT PYTHON (listed, not dumped; state from /proc): {names}")
    groups: dict[tuple[str, str], list[str]] = {}
    for m in result["missing"]:
        groups.setdefault((m["error"], m["fix"]), []).append(f"{m['role']} {m['pid']}")
    for (error, fix), whom in groups.items():
        lines.append(f"MISSING py-spy stacks of {', '.join(whom)}: {error}; fix: {fix}")
    if result["missing"]:
        lines.append(
            "  without them, thread roles come from /proc syscalls (futex, poll, write) and fd tables:"
            " the verdict stands, but which Python code waits is not shown"
        )
    lines.append(f"FIX: {result['fix']}")
    return "\n".join(lines)


# --- spy --pid: a tree joinstall did not start ------------------------------------------


def _check_target(pid: int) -> ProcState:
    if pid <= 0:
        raise UsageError(f"--pid must be a positive process id, not {pid}")
    if not procfs.available():
        raise PlatformError("this platform has no Linux /proc; joinstall spy cannot observe processes here")
    if pid == os.getpid():
        raise UsageError("--pid is joinstall itself; pass the PID of the Python parent that calls join()")
    try:
        with open(f"{procfs.PROC}/{pid}/syscall") as f:
            f.read()
    except FileNotFoundError:
        raise UsageError(f"no process with PID {pid}") from None
    except (PermissionError, OSError):
        raise UsageError(
            f"cannot observe PID {pid}: it is not ours; run as its user or root (in a container"
            " add --cap-add=SYS_PTRACE; with Yama set kernel.yama.ptrace_scope=0)"
        ) from None
    proc = procfs.proc_state(pid)
    if proc is None:
        raise UsageError(f"no process with PID {pid}")
    if proc.threads and all(t.state == "Z" for t in proc.threads):
        raise UsageError(f"PID {pid} is a zombie: it has exited and waits for its parent to reap it")
    if not is_python(proc):
        raise UsageError(
            f"PID {pid} ({proc.name}) is not a Python process;"
            " pass the PID of the Python parent that calls join()"
        )
    return proc


def _seen(snap: Snapshot) -> str:
    parts = []
    for p in snap.procs:
        threads = ", ".join(
            f"{'main' if t.tid == p.pid else t.tid} {waitfor.call_name(t.syscall)}" for t in p.threads
        )
        parts.append(f"{p.name} {p.pid} [{threads}]")
    return "; ".join(parts)


def sample(pid: int, *, window: float = PROOF_WINDOW, budget: float = SAMPLE_BUDGET) -> tuple[
    list[Snapshot], StallEvidence | None
]:  # fmt: skip
    """Snapshots of the tree under ``pid`` every 5 ms until a stall is proven or ``budget`` runs out."""
    snaps: list[Snapshot] = []
    deadline = time.monotonic() + budget
    while True:
        snaps.append(procfs.snapshot(procfs.tree(pid)))
        evidence = prove_stall(snaps, window)
        if evidence is not None or time.monotonic() >= deadline or not snaps[-1].procs:
            return snaps, evidence
        time.sleep(SAMPLE_INTERVAL)


def diagnose_pid(
    pid: int,
    *,
    window: float = PROOF_WINDOW,
    budget: float = SAMPLE_BUDGET,
    binary: str | None = None,
    timeout: float | None = None,
    native: bool | None = None,
    locals_: bool | None = None,
) -> dict[str, Any]:
    """Prove and explain the stall of the tree under ``pid``; UsageError when there is none."""
    _check_target(pid)
    start = time.monotonic()
    snaps, evidence = sample(pid, window=window, budget=budget)
    if not snaps[-1].procs:
        raise UsageError(f"PID {pid} exited while it was being sampled")
    if evidence is None:
        took = time.monotonic() - start
        raise UsageError(
            f"not stalled: over {took:.2f} s and {len(snaps)} samples no thread of PID {pid}'s tree stayed"
            f" blocked writing a pipe that nobody reads; seen: {_seen(snaps[-1])}"
        )
    proven = time.monotonic() - start
    result = capture(snaps[-1], evidence, pid, binary=binary, timeout=timeout, native=native, locals_=locals_)
    assert result is not None
    roles = waitfor.roles(snaps[-1], pid)
    out = {
        "pid": pid,
        "verdict": "stalled",
        "explanation": f"stalled — proven: {describe(evidence, roles)}.",
        "evidence": dataclasses.asdict(evidence),
        "proof_seconds": round(proven, 4),
        "samples": len(snaps),
        **result,
    }
    return out
