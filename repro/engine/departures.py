"""Processes that leave a watched tree: who went, when, how (where a sample saw it), and whether
the kernel's OOM killer was counting meanwhile.

A process's exit status lives only as long as it is a zombie: its parent reaps it, often within
microseconds (a Pool's worker handler does). A sample that catches the zombie reads the status
from ``/proc/PID/stat`` (its 52nd field, the ``wait`` status); otherwise the status is unknown,
and the words say so. The OOM kill counter (``oom_kill`` in ``/proc/vmstat``) is machine-wide:
its rise says an OOM kill happened meanwhile, not whose.
"""

from __future__ import annotations

import os
import time

from joinstall.engine.causes import Departure
from joinstall.engine.snapshot import PROC, Snapshot


def oom_kills(proc: str = PROC) -> int | None:
    """The kernel's count of OOM kills since boot, or None where it is not shown."""
    try:
        with open(f"{proc}/vmstat", "rb") as f:
            for line in f:
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def exit_status(pid: int, proc: str = PROC) -> int | None:
    """A zombie's end as ``Departure.status`` says it (-N signal N, else the exit code)."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        if fields[0] != b"Z" or len(fields) < 50:
            return None
        status = int(fields[49])  # field 52 of the whole line: two fields precede the ")"
    except (OSError, ValueError, IndexError):
        return None
    return -(status & 0x7F) if status & 0x7F else status >> 8 & 0xFF


class Departures:
    """Fed every sample of a tree; ``gone`` lists the processes that left it since the first."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.oom_start = oom_kills()
        self.alive: dict[int, int] = {}
        self.status: dict[int, int] = {}
        self.gone: list[Departure] = []
        self.me = os.getpid()

    def observe(self, snap: Snapshot) -> None:
        now = time.monotonic() - self.start
        present = {p.pid: p.ppid for p in snap.procs}
        for p in snap.procs:
            if p.threads and all(t.state in "ZX" for t in p.threads) and p.pid not in self.status:
                found = exit_status(p.pid)
                if found is not None:
                    self.status[p.pid] = found
        left = [pid for pid in self.alive if pid not in present]
        if left:
            oom_now = oom_kills()
            oom = None if oom_now is None or self.oom_start is None else oom_now > self.oom_start
            for pid in left:
                self.gone.append(Departure(pid, self.alive[pid], self.status.get(pid), round(now, 3), oom))
        self.alive = present
