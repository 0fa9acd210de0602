"""A test's processes: remembered while it runs, their stacks taken and all of them killed at a timeout.

pytest-timeout ends a hung test, not the processes it started; a CI job then waits for them
(pytest-timeout issue #159). The monitor walks pytest's tree at every sample and remembers each
descendant born during the test by its pid *and* its start time, so that one that left the tree
(re-parented after its parent died, a daemon's double fork) is still found, and a pid the kernel
reused for someone else's process is never touched. A process that left the tree within one
interval of its start is never seen: that is the limit of sampling.

At the timeout, every remembered process still alive is stopped (SIGSTOP: none can fork
another), the named semaphores that only they map are read, all are killed (SIGKILL) and the
semaphores unlinked. pytest's own multiprocessing services (its resource tracker and forkserver)
serve the rest of the session and are spared; another program's are not.

Without ``/proc`` (``JOINSTALL_PROCFS`` plays that in tests) nothing is remembered: psutil lists
the descendants that are there at the timeout, born during the test, and kills them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

#: Where /proc is; overridable so that tests can play a platform without one.
PROC = os.environ.get("JOINSTALL_PROCFS", "/proc")
#: How long to wait for killed processes to die (they are usually gone within a millisecond).
KILL_WAIT = 2.0
#: Rounds of stopping: a process that forked while it was being stopped has its child stopped next.
FREEZE_ROUNDS = 3


def available(proc: str = PROC) -> bool:
    """Whether there is a Linux ``/proc`` to observe processes through (``procfs.available``'s
    test, without importing ``joinstall.observe``: the pytest process pays ~15 ms for that)."""
    return os.path.exists(f"{proc}/self/task") and os.path.exists(f"{proc}/self/syscall")


def children(pid: int) -> list[int]:
    """The children of ``pid``, from each of its threads' ``children`` file."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"{PROC}/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            with open(f"{PROC}/{pid}/task/{task}/children", "rb") as f:
                out += map(int, f.read().split())
        except (OSError, ValueError):
            continue
    return out


def _stat(pid: int) -> list[bytes]:
    """The fields of ``/proc/PID/stat`` after the command name (which may hold spaces)."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()
    except OSError:
        return []


def started(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (``stat`` field 22); None if it is gone."""
    fields = _stat(pid)
    return int(fields[19]) if len(fields) > 19 else None


def _state(pid: int) -> str:
    fields = _stat(pid)
    return fields[0].decode() if fields else ""


def name(pid: int) -> str:
    try:
        with open(f"{PROC}/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def ticks(monotonic: float) -> int:
    """A ``time.monotonic()`` instant as a start time of ``/proc`` (ticks since boot): the kernel
    counts those on the boot clock, which runs on through a suspend."""
    boot = time.clock_gettime(time.CLOCK_BOOTTIME) - time.clock_gettime(time.CLOCK_MONOTONIC)
    return int((monotonic + boot) * os.sysconf("SC_CLK_TCK"))


class Descendants:
    """The processes born under ``root`` since ``since`` (monotonic clock), by pid and start
    time. ``skip``: processes whose subtrees are no part of it (the monitor, with its py-spy)."""

    def __init__(self, root: int, since: float, skip: Collection[int] = ()) -> None:
        self.root = root
        self.since = since
        self.skip = frozenset(skip)
        self.floor: int | None = None
        #: pid -> start time of each descendant born during the test.
        self.born: dict[int, int] = {}
        #: Descendants that were there before (a session fixture's server): never ours to kill.
        self.older: set[int] = set()

    def update(self) -> list[int]:
        """Walk the tree once (a few small reads per process); remember who is new. Returns the tree."""
        if self.floor is None:
            # Start times are whole ticks, rounded down: one in the test's first tick counts.
            self.floor = ticks(self.since)
        tree, todo = [], children(self.root)
        while todo:
            pid = todo.pop()
            if pid in self.skip:
                continue
            tree.append(pid)
            todo += children(pid)
            if pid in self.born or pid in self.older:
                continue
            start = started(pid)
            if start is not None:
                if start >= self.floor:
                    self.born[pid] = start
                else:
                    self.older.add(pid)
        return tree

    def alive(self) -> list[int]:
        """The remembered processes that still run under the same start time (not a reused pid)."""
        return sorted(pid for pid, start in self.born.items() if started(pid) == start)


def _services(pids: Iterable[int], root: int) -> set[int]:
    """The root's own multiprocessing resource tracker and forkserver among ``pids``."""
    from joinstall.plugin import stop

    return {pid for pid in pids if _ppid(pid) == root and stop.service(pid)}


def _ppid(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if len(fields) > 1 else 0


def kill(descendants: Descendants) -> list[str]:
    """Stop, then kill every process the test started that still runs; return them as ``pid (name)``.

    The named semaphores they map and the root does not are unlinked once they are dead: a killed
    program's own resource tracker can no longer do it.
    """
    from joinstall import reaper

    descendants.update()
    spared = _services(descendants.alive(), descendants.root)
    doomed: list[int] = []
    for _ in range(FREEZE_ROUNDS):
        new = [
            pid
            for pid in descendants.alive()
            if pid not in spared and pid not in doomed and _state(pid) not in ("Z", "X", "")
        ]
        if not new:
            break
        for pid in new:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
        reaper.wait_stopped(new, proc=Path(PROC))
        doomed += new
        descendants.update()
    names = [f"{pid} ({name(pid)})" for pid in doomed]
    semaphores = reaper.semaphores_of(doomed, proc=Path(PROC)) - reaper.semaphores_of(
        [descendants.root], proc=Path(PROC)
    )
    for pid in doomed:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT
    for pid in doomed:
        while _state(pid) not in ("Z", "X", "") and time.monotonic() < deadline:
            time.sleep(0.002)
    for path in semaphores:
        with contextlib.suppress(OSError):
            os.unlink(path)
    return names


# -- without /proc: psutil, and py-spy on its own ------------------------------------------------


def born_since(root: int, since: float, skip: Collection[int] = ()) -> list[psutil.Process]:
    """Descendants of ``root`` started at or after ``since`` (wall clock), and not in ``skip``,
    nor the root's own multiprocessing services."""
    import psutil
    from joinstall.plugin import stop

    try:
        tree = psutil.Process(root).children(recursive=True)
    except psutil.Error:
        return []
    floor = since - 2 / os.sysconf("SC_CLK_TCK") + _create_time_error()
    out = []
    for p in tree:
        with contextlib.suppress(psutil.Error):
            if p.pid in skip or p.create_time() < floor:
                continue
            if p.ppid() == root and stop.service(p.pid):
                continue
            out.append(p)
    return out


def _create_time_error() -> float:
    """How far psutil's create times run ahead of the wall clock. On Linux it counts from the
    boot time in whole seconds (``/proc/stat``'s ``btime``), up to a second early: a process
    started just after the test would seem older. Its create times are also whole ticks (two
    are allowed for above)."""
    import psutil

    if not hasattr(time, "CLOCK_BOOTTIME"):  # macOS, the BSDs: exact times from the kernel
        return 0.0
    return psutil.boot_time() - (time.time() - time.clock_gettime(time.CLOCK_BOOTTIME))


def kill_all(procs: Sequence[psutil.Process]) -> list[str]:
    """Stop, then kill these processes and wait for them; return them as ``pid (name)``."""
    import psutil

    names = []
    for p in sorted(procs, key=lambda p: p.pid):
        with contextlib.suppress(psutil.Error):
            names.append(f"{p.pid} ({p.name()})")
            p.suspend()
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(procs, timeout=KILL_WAIT)
    return names


def stacks_of(pids: Sequence[int]) -> tuple[dict[str, str], tuple[str, ...]]:
    """py-spy's stacks of each process, and why some are missing; a process that is not Python
    simply has none."""
    import concurrent.futures

    from joinstall.spy import pyspy, stacks

    if not pids:
        return {}, ()
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(len(pids), 16)) as pool:
        dumps = list(pool.map(pyspy.dump, pids))
    found = {str(d.pid): stacks.render(d.threads) for d in dumps if d.ok}
    missing = tuple(
        f"process {d.pid}: {d.error}; {pyspy.FIXES[d.problem]}"
        for d in dumps
        if d.problem is not None and d.problem is not pyspy.Problem.NOT_PYTHON
    )
    return found, missing
