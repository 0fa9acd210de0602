"""A word for each process of a hung tree: parent, child, forkserver, resource tracker, or its name."""

from __future__ import annotations

from joinstall.observe.procfs import ProcState, Snapshot
from joinstall.spy.labels import Labels


def roles(snap: Snapshot, parent: int | None, labels: Labels | None = None) -> dict[int, str]:
    """{pid: role} for every process of ``snap``; ``parent`` is the process that calls join().

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
