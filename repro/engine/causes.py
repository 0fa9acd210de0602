"""The cause of a proven hang, where a known family shows in the graph: said, never decided.

A cause never changes a verdict: the verdict is the graph's. It names what a user would look for
in their code, with the fix that fits, from the proven knot and (where py-spy gave them) the
threads' frames:

* a ``multiprocessing.Pool`` whose workers are all idle while a result is awaited: a worker died
  while it ran a task, and the task is lost (CPython bpo-22393);
* a Pool whose workers all wait for the task queue's read lock, which no living worker holds: a
  worker died while it waited for a task, holding the lock (CPython gh-96062);
* an event loop (asyncio) asleep with no timer, on fds nobody will make ready; or one that
  stopped reading a subprocess's full pipe and waits for that subprocess to exit.

What the processes showed when the tree was watched as the worker died (its pid, the signal that
ended it, the kernel's OOM kill counter) comes in as ``Departure`` records: ``spy`` alone may
see none, and then says what it could not see.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable, Mapping, Sequence

from joinstall.engine import syscalls
from joinstall.engine.graph import Knot
from joinstall.engine.snapshot import Process, Snapshot
from joinstall.engine.waits import Kind, Tid, Wait, holders, is_forkserver, is_service, is_wake_up_socket

FIX_POOL = (
    "use concurrent.futures.ProcessPoolExecutor, which raises BrokenProcessPool when a worker"
    " dies; or wait for results with a timeout (AsyncResult.get(timeout)) and check that the"
    " workers are alive"
)
FIX_POOL_LOCK = (
    "a worker killed while it waits for a task leaves the task queue's lock taken for good; use"
    " concurrent.futures.ProcessPoolExecutor (BrokenProcessPool) and find out why workers are"
    " killed (memory: the kernel's OOM killer)"
)
FIX_LOOP = (
    "something must set every future a task awaits: set it where the result is made (from a"
    " thread: loop.call_soon_threadsafe(fut.set_result, value)), or await it with"
    " asyncio.wait_for(..., timeout)"
)
FIX_LOOP_PIPE = (
    "read the subprocess's output while waiting: await proc.communicate() instead of await proc.wait()"
)


@dataclasses.dataclass(frozen=True)
class Departure:
    """A process of the tree that was seen to go while the tree was watched."""

    pid: int
    ppid: int
    #: What ended it: ``-N`` killed by signal N, ``N >= 0`` its exit code; None: not seen (it was
    #: reaped before a sample caught it as a zombie).
    status: int | None
    #: Seconds after the watch began that a sample first missed it.
    seen: float
    #: The kernel's OOM kill counter rose between the watch's start and its departure.
    oom: bool | None = None

    def words(self) -> str:
        if self.status is None:
            how = "its exit status was reaped before it could be seen"
        elif self.status < 0:
            how = f"killed by {_signame(-self.status)}"
        else:
            how = f"exit code {self.status}"
        oom = {True: "; the kernel's OOM kill counter rose meanwhile", False: "; no OOM kill was counted"}
        return f"{how}{oom.get(self.oom, '') if self.oom is not None else ''}"


@dataclasses.dataclass(frozen=True)
class Cause:
    text: str
    fix: str


#: Namer.proc, as words.py makes it: ``parent 12``, ``child 13``.
Proc = Callable[[int], str]
Labels = Mapping[Tid, tuple[str | None, str | None, str | None]]


def find(
    snap: Snapshot,
    knot: Knot,
    labels: Labels,
    proc: Proc,
    departed: Sequence[Departure] = (),
) -> Cause | None:
    """The cause of a proven knot, when one of the families above shows; else None."""
    return _pool(snap, knot, labels, proc, departed) or _loop(snap, knot, labels, proc)


def _signame(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _main(knot: Knot, pid: int) -> Wait | None:
    return knot.waits.get((pid, pid))


def _in_pool_module(labels: Labels, t: Tid) -> bool:
    frame = labels.get(t, (None, None, None))[2] or ""
    role = labels.get(t, (None, None, None))[1] or ""
    return "pool.py" in frame or "pool" in role


def _pool(
    snap: Snapshot, knot: Knot, labels: Labels, proc: Proc, departed: Sequence[Departure]
) -> Cause | None:
    """Idle workers, an awaited result: see the module docstring.

    The shape, from /proc alone: a parent whose stuck main thread waits on a lock (a result's
    event), and children of it whose every thread is stuck, each main thread either reading the
    same empty pipe (the task queue, whose write end the parent holds) or waiting on one shared
    semaphore (the queue's read lock); and a thread of the parent reading an empty pipe that
    those children write (the result queue). py-spy's frames, when given, must agree.
    """
    for parent in snap.procs:
        main = _main(knot, parent.pid)
        if main is None or main.kind is not Kind.FUTEX or (parent.pid, parent.pid) not in knot.forever:
            continue
        kids = [p for p in _children(snap, parent) if _main(knot, p.pid) is not None]
        workers, tasks, locks = [], set(), set()
        for kid in kids:
            w = _main(knot, kid.pid)
            assert w is not None
            if w.kind is Kind.PIPE_READ and parent.holds(w.pipe, write=True):
                tasks.add(w.pipe)
            elif w.kind is Kind.SHARED_FUTEX:
                locks.add(w.what)
            else:
                continue
            workers.append(kid)
        if not workers or len(tasks) > 1 or len(locks) > 1:
            continue
        if not all((w.pid, t.tid) in knot.forever for w in workers for t in w.threads):
            continue
        results = [
            w
            for t, w in knot.waits.items()
            if t[0] == parent.pid
            and w.kind is Kind.PIPE_READ
            and t in knot.forever
            and any(h in workers for h in holders(snap, w.pipe, write=True))
        ]
        if not results:
            continue
        told = [t for t in labels if t[0] in {parent.pid, *(w.pid for w in workers)}]
        if told and not any(_in_pool_module(labels, t) for t in told):
            continue  # py-spy saw the frames, and they are no pool's
        return _pool_cause(parent, workers, bool(tasks), proc, departed, framed=bool(told))
    return None


def _children(snap: Snapshot, parent: Process) -> list[Process]:
    """The parent's children, through its forkserver if it has one, without multiprocessing's
    services (the resource tracker reads a pipe of the parent's too: it is no worker)."""
    servers = {p.pid for p in snap.procs if p.ppid == parent.pid and is_forkserver(snap, p)}
    return [p for p in snap.procs if (p.ppid == parent.pid or p.ppid in servers) and not is_service(snap, p)]


def _pool_cause(
    parent: Process,
    workers: list[Process],
    reading: bool,
    proc: Proc,
    departed: Sequence[Departure],
    *,
    framed: bool,
) -> Cause:
    """The words of a Pool's cause. ``framed``: py-spy's frames confirmed it is a Pool."""
    n = len(workers)
    idle = {1: f"the only worker of the Pool in {proc(parent.pid)} is idle"}.get(
        n, f"{'both' if n == 2 else f'all {n}'} workers of the Pool in {proc(parent.pid)} are idle"
    )
    gone = [
        d for d in departed if d.ppid in {w.ppid for w in workers} and d.pid not in {w.pid for w in workers}
    ]
    if gone:
        said = " and ".join(f"worker {d.pid} died ({d.words()})" for d in gone)
    else:
        said = "a worker died (this watch did not see it go: the Pool had already reaped it)"
        if not framed:  # neither py-spy's frames nor a departure confirm it: say how sure this is
            said = f"from /proc alone, this looks like a multiprocessing Pool in which {said}"
    if reading:
        text = (
            f"{said} while it ran a task, and that task's result will never come: {idle}, the task"
            " and result pipes are empty, and the parent waits for a result (map(), apply() or"
            " get() waits for ever)"
        )
        return Cause(text, FIX_POOL)
    each = "it waits" if n == 1 else "each waits"
    text = (
        f"{said} while it held the task queue's read lock: {idle} and {each} for that lock, whose"
        " holder is gone, so no worker can take a task again (CPython gh-96062)"
    )
    return Cause(text, FIX_POOL_LOCK)


def _loop(snap: Snapshot, knot: Knot, labels: Labels, proc: Proc) -> Cause | None:
    """An event loop (a thread in ``epoll_wait`` with no timeout on its own wake-up socket)."""
    for t in sorted(knot.forever):
        w = knot.waits[t]
        if w.kind is not Kind.POLL or not _event_loop(snap, t):
            continue
        frame = labels.get(t, (None, None, None))[2] or ""
        if frame and "selectors" not in frame and "asyncio" not in frame and "select" not in frame:
            continue
        starved = _unread_pipe(snap, knot, t)
        if starved is not None:
            text = (
                f"the event loop of {proc(t[0])} stopped reading {proc(starved[0])}'s output"
                " (its pipe is full and no longer watched by the loop) and waits for it to exit;"
                " it cannot exit before the loop reads"
            )
            return Cause(text, FIX_LOOP_PIPE)
        if not any(k[0] != t[0] for k in w.wakers) and not _others_move(knot, t):
            text = (
                f"the event loop of {proc(t[0])} sleeps with no timer and no fd that anyone will"
                " make ready: every task waits for ever (a future nobody sets, an event nobody"
                " fires)"
            )
            return Cause(text, FIX_LOOP)
    return None


def _others_move(knot: Knot, t: Tid) -> bool:
    return any(k not in knot.forever for k in knot.waits if k[0] == t[0] and k != t)


def _unread_pipe(snap: Snapshot, knot: Knot, loop: Tid) -> Tid | None:
    """A stuck writer of a full pipe that only the loop's process reads, not polled by the loop."""
    owner = snap.proc(loop[0])
    th = next((x for x in owner.threads if x.tid == loop[1]), None) if owner else None
    if owner is None or th is None:
        return None
    polled = {e.inode for fd, _ in th.fds if (e := owner.fd(fd)) is not None}
    for t in knot.forever:
        w = knot.waits[t]
        unread = w.kind is Kind.PIPE_WRITE and w.pipe not in polled and t[0] != loop[0]
        if unread and holders(snap, w.pipe, write=False) == [owner]:
            return t
    return None


def _event_loop(snap: Snapshot, t: Tid) -> bool:
    """The thread sleeps in ``epoll_wait`` on a wake-up socket of its own process."""
    owner = snap.proc(t[0])
    th = next((x for x in owner.threads if x.tid == t[1]), None) if owner else None
    if owner is None or th is None or not syscalls.name(th.syscall).startswith("epoll"):
        return False
    return any((end := owner.fd(fd)) is not None and is_wake_up_socket(snap, owner, end) for fd, _ in th.fds)
