"""What each thread waits for, read from one snapshot: the edges of the wait-for graph.

A thread in a blocking wait can only be woken by certain other threads (its *wakers*), and
any one of them suffices:

* ``write`` on a full pipe: any thread of a process holding the read end;
* ``read`` on an empty pipe: any thread of a process holding the write end;
* ``wait4``/``waitid``: any thread of the process(es) it waits to exit;
* a private ``futex`` (``Thread.join``, ``threading.Lock``): another thread of its own process;
* a shared ``futex`` on a shared mapping (a ``multiprocessing`` semaphore): any thread of any
  process mapping it;
* ``poll``/``select``/``epoll`` on pipes: the other end's holders; on anything else (a socket,
  a terminal) the world outside;
* a multiprocessing *forkserver* writes a child's sentinel only when that child exits, so as the
  writer of a sentinel it stands for its children;
* a shared futex whose file still has a name (spawn and forkserver semaphores): also any
  process of the tree, which may open it by that name yet (a child still starting);
* a main thread whose process handles a signal: also whoever may send it. For SIGALRM, or a
  signal a POSIX timer of the process delivers, that is a timer nobody can see (``outside``);
  for any other, every process of the tree. SIGINT, the faults a crash handler catches and a
  terminal's signals (resize, job control) do not count, nor signals the caller accounts for
  (``known_signals``: pytest-timeout's SIGALRM, which the plugin reports on itself). A signal
  from outside the tree (a user's ``kill``) is an intervention, not progress: not counted.

A wait that ends by itself soon (a timeout under ``MIN_TIMED`` s, or any timed wait with no
possible waker, which is a sleep) is not an edge: the thread is live. Nor is a timed *futex*
wait, however long: ``Event.wait(2)``, ``Condition.wait(2)``, ``Lock.acquire(timeout=2)`` are
how threads pace themselves (``while not stop.wait(2): drain()``), and from outside its timeout
cannot be told from a sleep: the thread may well read the pipe once it ends. A timed *poll* is
an edge only on pipes whose other end only *other* processes hold: that is how ``join(T)`` waits
for a child's exit (its sentinel), and the timeout is the join giving up (the cycle holds until
then). A timed poll of a pipe its own process can write (``ctrl.get(timeout=2)`` on a queue of
its own) is a pace like the futex above. Running, sleeping, disk waits and anything unrecognised
are live too. Everything here is pure.
"""

from __future__ import annotations

import dataclasses
import enum
import signal
from collections.abc import Sequence

from joinstall.engine import syscalls
from joinstall.engine.snapshot import UNCOUNTED, UNKNOWN, Process, Snapshot, Thread

#: A timed wait shorter than this is a polling loop, not a hang: the thread wakes by itself.
MIN_TIMED = 1.0
#: A thread is named by (pid, tid) everywhere in the engine.
Tid = tuple[int, int]


class Kind(str, enum.Enum):
    """What a thread is doing, as the kernel shows it."""

    PIPE_WRITE = "pipe_write"
    PIPE_READ = "pipe_read"
    EXIT = "exit"
    FUTEX = "futex"
    SHARED_FUTEX = "shared_futex"
    POLL = "poll"
    #: Not a wait on the graph: running, sleeping, a timed wait that ends soon, I/O elsewhere.
    LIVE = "live"
    #: A thread that has exited (zombie): it can wake nobody.
    GONE = "gone"


@dataclasses.dataclass(frozen=True)
class Wait:
    """One thread's wait: whom it waits for, and in words what on."""

    pid: int
    tid: int
    kind: Kind
    #: Threads any one of which could wake it (never itself).
    wakers: frozenset[Tid]
    #: In words: ``write(fd 6) on pipe:[29198]``, ``wait4(1234)``, ``time.sleep``.
    what: str
    #: A waker lies outside what we can see (a socket peer, a process not in the snapshot).
    outside: bool = False
    #: A poll of a pipe whose other end the poller's own process holds (a queue of its own).
    own_end: bool = False
    #: Seconds the wait was given, when it is timed: it ends by itself then.
    timeout: float | None = None
    #: For pipe waits: the pipe's inode; for exit waits: the processes waited for.
    pipe: int = 0
    targets: tuple[int, ...] = ()
    nbytes: int = 0

    @property
    def blocking(self) -> bool:
        return self.kind not in (Kind.LIVE, Kind.GONE)


def _threads(procs: list[Process], exclude: Tid | None = None) -> frozenset[Tid]:
    return frozenset(
        (p.pid, t.tid) for p in procs for t in p.threads if (p.pid, t.tid) != exclude and t.state not in "ZX"
    )


#: What multiprocessing's service processes run (``python -c "from multiprocessing.X import
#: main; ..."``); ``semaphore_tracker`` is the tracker's name before Python 3.8.
TRACKERS = ("multiprocessing.resource_tracker", "multiprocessing.semaphore_tracker")
FORKSERVER = "multiprocessing.forkserver"


def _runs(cmdline: Sequence[str], *modules: str) -> bool:
    return any(m in arg for arg in cmdline for m in modules)


def is_tracker(cmdline: Sequence[str]) -> bool:
    return _runs(cmdline, *TRACKERS)


def is_forkserver_cmdline(cmdline: Sequence[str], parent: Sequence[str]) -> bool:
    """The forkserver itself: its children keep its command line, its parent does not."""
    return _runs(cmdline, FORKSERVER) and not _runs(parent, FORKSERVER)


def is_forkserver(snap: Snapshot, proc: Process) -> bool:
    parent = snap.proc(proc.ppid)
    return is_forkserver_cmdline(proc.cmdline, parent.cmdline if parent else ())


def holders(snap: Snapshot, inode: int, *, write: bool, exits: bool = False) -> list[Process]:
    """Processes holding an end of a pipe.

    ``exits``: the waiter polls the pipe for a child's exit. A forkserver writes a child's
    sentinel twice: the new pid right after the fork (a blocking ``read`` waits for that, and
    the forkserver itself is the writer), then the exit status (a ``poll`` waits for that, and
    only the child's exit can bring it): for a poll, the forkserver stands for its children.
    """
    found = [p for p in snap.procs if p.holds(inode, write=write)]
    if write and exits:
        for server in [p for p in found if is_forkserver(snap, p)]:
            children = [p for p in snap.procs if p.ppid == server.pid and p not in found]
            if children:  # none in sight yet: the forkserver itself is the writer to wait for
                found.remove(server)
                found += children
    return found


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _live(proc: Process, th: Thread, what: str) -> Wait:
    return Wait(proc.pid, th.tid, Kind.LIVE, frozenset(), what)


def _pipe_wait(snap: Snapshot, proc: Process, th: Thread, me: Tid, call: str) -> Wait | None:
    end = proc.fd(th.args[0]) if th.args else None
    if end is None or end.kind != "pipe":
        return None
    write = call in ("write", "writev")
    others = holders(snap, end.inode, write=not write)
    # Blocked with nobody at the other end is impossible (EOF, EPIPE): that end is held where we
    # cannot see it (in flight in a unix socket, in a process outside the snapshot).
    kind = Kind.PIPE_WRITE if write else Kind.PIPE_READ
    nbytes = th.args[2] if write and len(th.args) > 2 else 0
    what = f"{call}(fd {end.fd}) on pipe:[{end.inode}]"
    return Wait(
        proc.pid, th.tid, kind, _threads(others, me), what, outside=not others, pipe=end.inode, nbytes=nbytes
    )


def _exit_wait(snap: Snapshot, proc: Process, th: Thread, me: Tid, call: str) -> Wait:
    if call == "wait4":
        target = _signed32(th.args[0]) if th.args else -1
    else:  # waitid(idtype, id, ...): P_PID is 1, P_ALL 0
        target = _signed32(th.args[1]) if len(th.args) > 1 and th.args[0] == 1 else -1
    kids = [p for p in snap.procs if p.ppid == proc.pid]
    waited = [p for p in kids if p.pid == target] if target > 0 else kids
    what = f"{call}({target})" if target > 0 else f"{call}(any child)"
    # Blocked with no child in sight is impossible (ECHILD): the child is one we cannot see.
    pids = tuple(p.pid for p in waited)
    return Wait(proc.pid, th.tid, Kind.EXIT, _threads(waited, me), what, outside=not waited, targets=pids)


def _poll_wait(snap: Snapshot, proc: Process, th: Thread, me: Tid, call: str) -> Wait:
    wakers: set[Tid] = set()
    outside = not th.fds
    own_end = False
    on = []
    for fd, events in th.fds:
        end = proc.fd(fd)
        if end is None or end.kind != "pipe" or not events & (syscalls.POLLIN | syscalls.POLLOUT):
            outside = True
            on.append(f"fd {fd}")
            continue
        if events & syscalls.POLLIN and end.readable:
            writers = holders(snap, end.inode, write=True, exits=True)
            outside |= not writers
            own_end |= proc in writers
            wakers |= _threads(writers, me)
        if events & syscalls.POLLOUT and end.writable:
            readers = holders(snap, end.inode, write=False)
            outside |= not readers
            own_end |= proc in readers
            wakers |= _threads(readers, me)
        on.append(f"pipe:[{end.inode}]")
    what = f"{call} on {', '.join(on) or 'nothing'}"
    return Wait(
        proc.pid,
        th.tid,
        Kind.POLL,
        frozenset(wakers),
        what,
        outside=outside,
        own_end=own_end,
        timeout=th.timeout,
    )


def _futex_wait(snap: Snapshot, proc: Process, th: Thread, me: Tid) -> Wait:
    if th.shared is None or (len(th.args) > 1 and th.args[1] & syscalls.FUTEX_PRIVATE_FLAG):
        # Private (or private memory): only another thread of this process can wake it.
        what = "a lock or a thread join"
        return Wait(proc.pid, th.tid, Kind.FUTEX, _threads([proc], me), what, timeout=th.timeout)
    mappers = [p for p in snap.procs if th.shared in p.shared_maps or p.pid == proc.pid]
    if th.named:  # a process yet to open it by its name may post it
        mappers += [p for p in snap.procs if p not in mappers and not is_service(snap, p)]
    what = f"a shared semaphore (mapping {th.shared})"
    unknown = th.shared == UNKNOWN  # a mapping we could not read: whoever maps it is unknown
    return Wait(
        proc.pid, th.tid, Kind.SHARED_FUTEX, _threads(mappers, me), what, outside=unknown, timeout=th.timeout
    )


def is_service(snap: Snapshot, proc: Process) -> bool:
    """multiprocessing's resource tracker or forkserver: they post no semaphore, send no signal."""
    return is_tracker(proc.cmdline) or is_forkserver(snap, proc)


def _signalled(snap: Snapshot, proc: Process, wait: Wait, known: frozenset[int]) -> Wait:
    """A main thread's wait that a handler of a signal someone may send can end."""
    handled = [s for s in range(1, 65) if proc.caught >> (s - 1) & 1 and not UNCOUNTED >> (s - 1) & 1]
    handled = [s for s in handled if s not in known]
    if not handled:
        return wait
    timed = [s for s in handled if s == signal.SIGALRM or s in proc.timer_signals]
    senders = [p for p in snap.procs if not is_service(snap, p)]
    names = ", ".join(_signame(s) for s in handled)
    return dataclasses.replace(
        wait,
        wakers=wait.wakers | _threads(senders, (wait.pid, wait.tid)),
        outside=wait.outside or bool(timed),
        what=f"{wait.what} (a {names} handler may end it)"
        if len(handled) == 1
        else f"{wait.what} ({names} handlers may end it)",
    )


def _signame(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def wait_of(
    snap: Snapshot,
    proc: Process,
    th: Thread,
    min_timed: float = MIN_TIMED,
    known: frozenset[int] = frozenset(),
) -> Wait:
    """The wait of one thread, from the kernel's view alone.

    ``min_timed``: a timed wait shorter than this is live. A program whose timed waits are known
    not to be polling loops (joinstall's own target, whose ``join(T)`` is one wait) passes 0.
    ``known``: handled signals whose senders the caller accounts for.
    """
    wait = _wait_of(snap, proc, th, min_timed)
    if wait.blocking and th.tid == proc.pid:
        return _signalled(snap, proc, wait, known)
    return wait


def _wait_of(snap: Snapshot, proc: Process, th: Thread, min_timed: float) -> Wait:
    me = (proc.pid, th.tid)
    if th.state in "ZX":
        return Wait(proc.pid, th.tid, Kind.GONE, frozenset(), "exited")
    if th.state != "S":
        return _live(
            proc, th, {"R": "running", "D": "in uninterruptible I/O"}.get(th.state, f"state {th.state}")
        )
    call = syscalls.name(th.syscall)
    wait: Wait | None = None
    if call in syscalls.PIPE_IO:
        wait = _pipe_wait(snap, proc, th, me, call)
    elif call in syscalls.EXITS:
        wait = _exit_wait(snap, proc, th, me, call)
    elif call in syscalls.POLLS:
        wait = _poll_wait(snap, proc, th, me, call)
    elif call == "futex":
        wait = _futex_wait(snap, proc, th, me)
    elif call in syscalls.SLEEPS:
        return _live(proc, th, "asleep in time.sleep")
    if wait is None:
        # A socket, a terminal, a file lock: it waits, but on something outside the graph.
        what = f"in {call}, waiting on something outside the tree"
        return Wait(proc.pid, th.tid, Kind.LIVE, frozenset(), what, outside=True)
    paced = call == "futex" or wait.own_end
    if wait.timeout is not None and (not wait.wakers or wait.timeout < min_timed or paced):
        # A timed wait nobody can end early is a sleep; a short one is a polling loop; a timed
        # futex, or a poll of a pipe of its own, may be a thread's pace between steps.
        return _live(proc, th, f"in a timed wait ({wait.what}) that ends within {wait.timeout:.2f} s")
    return wait


def waits(
    snap: Snapshot, min_timed: float = MIN_TIMED, known_signals: frozenset[int] = frozenset()
) -> dict[Tid, Wait]:
    """Every thread's wait, keyed by (pid, tid)."""
    return {
        (p.pid, t.tid): wait_of(snap, p, t, min_timed, known_signals) for p in snap.procs for t in p.threads
    }
