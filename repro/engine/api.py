"""The one-shot form: ``diagnose(pid)`` samples a tree until proven or out of time, then adds stacks."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from collections.abc import Collection, Iterable

from joinstall.engine import snapshot
from joinstall.engine.diagnosis import Diagnosis
from joinstall.engine.snapshot import Process
from joinstall.engine.waits import Tid
from joinstall.engine.watcher import Watcher
from joinstall.errors import PlatformError, UsageError
from joinstall.spy import labels as spylabels
from joinstall.spy import pyspy, stacks

#: Between two samples: longer than CPython's 5 ms GIL wait, so a thread waiting for the GIL
#: shows as moved, and short enough to keep ``spy`` quick.
INTERVAL = 0.02
#: Sample this long before concluding that nothing is proven.
BUDGET = 1.0
NOT_OURS = (
    "it is not ours; run as its user or root (in a container add --cap-add=SYS_PTRACE;"
    " with Yama set kernel.yama.ptrace_scope=0)"
)


def check(pid: int) -> None:
    """UsageError/PlatformError, in one line, when ``pid`` cannot be diagnosed."""
    if pid <= 0:
        raise UsageError(f"the PID must be a positive process id, not {pid}")
    if not snapshot.available():
        raise PlatformError("this platform has no Linux /proc; processes cannot be observed here")
    try:
        with open(f"{snapshot.PROC}/{pid}/syscall") as f:
            f.read()
    except FileNotFoundError:
        raise UsageError(f"no process with PID {pid}") from None
    except OSError:  # PermissionError, or EACCES from ptrace_may_access
        raise UsageError(f"cannot observe PID {pid}: {NOT_OURS}") from None
    proc = snapshot.process(pid)
    if proc is None:
        raise UsageError(f"no process with PID {pid} (it exited)")
    if proc.threads and all(t.state in "ZX" for t in proc.threads):
        raise UsageError(f"PID {pid} is a zombie: it has exited and waits for its parent to reap it")


def diagnose(
    pid: int,
    *,
    budget: float = BUDGET,
    interval: float = INTERVAL,
    stacks: bool = True,
    ignore_tids: Collection[int] = (),
    known_signals: Collection[int] = (),
    pyspy_binary: str | None = None,
    spy_timeout: float = pyspy.DUMP_TIMEOUT,
    native: bool = False,
    locals_: bool = False,
) -> Diagnosis:
    """Watch the tree under ``pid`` until a hang is proven or ``budget`` seconds pass.

    Returns the proof (``stalled``/``deadlocked``) or the latest view (``blocked``/``running``),
    with py-spy stacks of every Python process of the tree when ``stacks`` is true.
    ``known_signals``: signals whose handlers the caller knows cannot end a wait (by default a
    handled SIGALRM may be an armed alarm, so it keeps a wait open: see ``waits``). Raises
    UsageError when the PID does not exist, is a zombie, or may not be observed.
    """
    check(pid)
    watcher = Watcher(pid, ignore_tids=ignore_tids, known_signals=known_signals)
    deadline = time.monotonic() + budget
    found = watcher.step()
    while found is None and not watcher.gone and time.monotonic() < deadline:
        time.sleep(interval)
        found = watcher.step()
    result = found or watcher.last()
    if stacks:
        result = capture_stacks(
            result, binary=pyspy_binary, timeout=spy_timeout, native=native, locals_=locals_
        )
    return result


def _dump(
    proc: Process, blocking: bool, binary: str | None, timeout: float, native: bool, locals_: bool
) -> pyspy.Dump:
    return pyspy.dump(
        proc.pid, binary=binary, timeout=timeout, native=native, locals_=locals_, blocking=blocking
    )


def _dump_proven(
    proc: Process, binary: str | None, timeout: float, native: bool, locals_: bool
) -> pyspy.Dump:
    """A dump that does not stop the process; stopped only if that gave no OS thread ids.

    Why not always stop it: a ptrace stop interrupts a blocked ``write()``, which returns
    short, and the program may go on with its data cut (seen with a subprocess writing its
    stdout). CPython 3.8's threads carry no OS thread id unless the process is stopped; on a
    proven hang that costs at most the interrupted write, and it names the threads.
    """
    first = _dump(proc, False, binary, timeout, native, locals_)
    if first.ok and first.threads and all(t.os_thread_id is None for t in first.threads):
        again = _dump(proc, True, binary, timeout, native, locals_)
        return again if again.ok else first
    return first


def labels(threads: Iterable[stacks.Thread]) -> dict[Tid, tuple[str | None, str | None, str | None]]:
    """What py-spy's frames say of each thread: its name, its role in words, the deciding frame."""
    named = {}
    for c in spylabels.of(threads).values():
        role = c.description if c.label is not spylabels.Label.OTHER else None
        named[(c.pid, c.tid)] = (c.name, role, c.frame.where() if c.frame else None)
    return named


def capture_stacks(
    diagnosis: Diagnosis,
    *,
    binary: str | None = None,
    timeout: float = pyspy.DUMP_TIMEOUT,
    native: bool = False,
    locals_: bool = False,
    ignore_tids: Collection[int] = (),
) -> Diagnosis:
    """py-spy every living Python process of the diagnosis; name threads from their frames.

    Dumps do not stop the processes (see ``_dump_proven`` for 3.8 on a proven hang). Zombies
    are skipped. ``ignore_tids``: threads left out of the stacks (a watcher's own). A failed
    dump never aborts: it is listed under ``missing`` with its fix.
    """
    evidence = diagnosis.evidence
    if evidence is None:
        return diagnosis
    alive = [p for p in evidence.after.procs if not all(t.state in "ZX" for t in p.threads)]
    pythons = [p for p in alive if pyspy.is_python(p)]

    def one(p: Process) -> pyspy.Dump:
        if diagnosis.proven:
            return _dump_proven(p, binary, timeout, native, locals_)
        return _dump(p, False, binary, timeout, native, locals_)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(len(pythons), 16))) as pool:
        dumps = list(pool.map(one, pythons))
    skip = frozenset(ignore_tids)
    named = labels(t for d in dumps for t in d.threads)
    # The names are evidence too: a saved diagnosis tells the same words where py-spy is absent.
    return dataclasses.replace(evidence, labels=named).describe(
        stacks={
            str(d.pid): stacks.render([t for t in d.threads if t.tid not in skip]) for d in dumps if d.ok
        },
        missing=tuple(
            f"process {d.pid}: {d.error}; {pyspy.FIXES[d.problem]}" for d in dumps if d.problem is not None
        ),
    )
