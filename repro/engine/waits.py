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
from joinstall.engine.snapshot import TIMER_DISARMED, UNCOUNTED, UNKNOWN, Fd, Process, Snapshot, Thread
from joinstall.engine.sockets import Socket

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
    #: ``recv``/``read`` on a connected socket with nothing queued; ``send`` on a full one.
    SOCKET_READ = "socket_read"
    SOCKET_WRITE = "socket_write"
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

    @property
    def full(self) -> bool:
        """A writer blocked on a full buffer (a pipe's or a socket's): a stall, when proven."""
        return self.kind in (Kind.PIPE_WRITE, Kind.SOCKET_WRITE)


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


def _io_wait(snap: Snapshot, proc: Process, th: Thread, me: Tid, call: str) -> Wait | None:
    """A blocked read or write: on a pipe, or on a socket."""
    end = proc.fd(th.args[0]) if th.args else None
    if end is not None and end.kind == "socket":
        return _socket_wait(snap, proc, th, me, call, end)
    if end is None or end.kind != "pipe":
        return None
    write = call in syscalls.WRITES
    others = holders(snap, end.inode, write=not write)
    # Blocked with nobody at the other end is impossible (EOF, EPIPE): that end is held where we
    # cannot see it (in flight in a unix socket, in a process outside the snapshot).
    kind = Kind.PIPE_WRITE if write else Kind.PIPE_READ
    nbytes = th.args[2] if write and len(th.args) > 2 else 0
    what = f"{call}(fd {end.fd}) on pipe:[{end.inode}]"
    return Wait(
        proc.pid, th.tid, kind, _threads(others, me), what, outside=not others, pipe=end.inode, nbytes=nbytes
    )


def socket_holders(snap: Snapshot, inode: int) -> list[Process]:
    """Processes holding a socket (any holder may read and write it)."""
    return [p for p in snap.procs if p.holds_socket(inode)]


def _socket_peer(snap: Snapshot, inode: int, *, write: bool) -> tuple[list[Process] | None, str]:
    """Who can end a wait on a socket: the holders of its peer (None when nobody we can see, or
    anyone at all, could), and the socket in words.

    Open (None): a socket the tables do not show, a listening one (anyone may connect), one with
    no peer on this machine, a read with data already queued or after the peer shut its end
    (it returns at once), and a write whose peer has nothing queued (a blocked send we cannot
    explain by a full buffer).
    """
    sock = snap.socket(inode)
    if sock is None:
        return None, f"socket:[{inode}]"
    name = describe_socket(sock)
    if sock.state == "listen":
        return None, f"{name}, listening (anyone may connect)"
    if not sock.peer or not sock.loopback:
        return None, name
    if write:
        peer = snap.socket(sock.peer)
        if peer is None or peer.rqueue <= 0:
            return None, name
    elif sock.rqueue > 0 or sock.shutdown & 1:
        return None, name
    return socket_holders(snap, sock.peer), name


def describe_socket(sock: Socket) -> str:
    """``a unix socket:[123] (its peer socket:[124])``, ``a TCP connection to 10.1.2.3:5432``."""
    if sock.family == "unix":
        peer = f" (its peer socket:[{sock.peer}])" if sock.peer else ""
        return f"a unix socket:[{sock.inode}]{peer}"
    proto = sock.family.rstrip("6").upper()
    if sock.remote and sock.state != "listen":
        return f"a {proto} connection to {sock.remote} (socket:[{sock.inode}])"
    return f"a {proto} socket on {sock.local or '?'} (socket:[{sock.inode}])"


def _socket_wait(snap: Snapshot, proc: Process, th: Thread, me: Tid, call: str, end: Fd) -> Wait:
    write = call in syscalls.WRITES
    peers, name = _socket_peer(snap, end.inode, write=write)
    what = f"{call}(fd {end.fd}) on {name}"
    if peers is None:
        return Wait(
            proc.pid,
            th.tid,
            Kind.LIVE,
            frozenset(),
            f"in {what}, which only something outside the tree can end",
            outside=True,
        )
    kind = Kind.SOCKET_WRITE if write else Kind.SOCKET_READ
    nbytes = th.args[2] if write and len(th.args) > 2 else 0
    return Wait(
        proc.pid, th.tid, kind, _threads(peers, me), what, outside=not peers, pipe=end.inode, nbytes=nbytes
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
        ready = _ready_by(snap, proc, end, events) if end is not None else None
        if ready is None:
            outside = True
            on.append(_fd_name(snap, end, fd))
            continue
        procs, name = ready
        outside |= not procs
        own_end |= proc in procs
        wakers |= _threads(procs, me)
        on.append(name)
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


def _ready_by(snap: Snapshot, proc: Process, end: Fd, events: int) -> tuple[list[Process], str] | None:
    """Who can make a polled fd ready (any thread of these processes), and the fd in words;
    None when something outside the graph can (a timer, a terminal, a file, the network).

    A pipe: the other end's holders. A socket: its peer's holders (see ``_socket_peer``). A
    pidfd: the exit of its process. An eventfd: whoever holds it. A signalfd: the senders of its
    signals (``_senders``). A timerfd, an inotify fd, a nested epoll, anything else: outside.
    """
    wanted = events & (syscalls.POLLIN | syscalls.POLLOUT)
    if not wanted:
        return None
    if end.kind == "pipe":
        # A pipe end always reports the other end's closing (POLLHUP, POLLERR), whatever events
        # were asked for: a poll of a write end for POLLIN (asyncio watches its subprocess's stdin
        # so) waits for the readers too.
        found: list[Process] = []
        if end.readable:
            writers = holders(snap, end.inode, write=True, exits=True)
            if not writers:
                return None
            found += writers
        if end.writable:
            readers = holders(snap, end.inode, write=False)
            if not readers:
                return None
            found += readers
        return found, f"pipe:[{end.inode}]"
    if end.kind == "socket":
        found = []
        name = f"socket:[{end.inode}]"
        for bit, write in ((syscalls.POLLIN, False), (syscalls.POLLOUT, True)):
            if events & bit:
                peers, name = _socket_peer(snap, end.inode, write=write)
                if peers is None:
                    return None
                found += peers
        if is_wake_up_socket(snap, proc, end):
            name = f"its own wake-up socket:[{end.inode}]"
        return found, name
    if end.kind == "pidfd" and events & syscalls.POLLIN:
        target = snap.proc(end.detail)
        return ([target], f"the pidfd of process {end.detail}") if target else None
    if end.kind == "eventfd" and end.detail:
        same = [p for p in snap.procs if any(f.kind == "eventfd" and f.detail == end.detail for f in p.fds)]
        return same, f"eventfd {end.fd}"
    if end.kind == "timerfd" and end.detail == TIMER_DISARMED:
        # A spent timer fires again only if a holder arms it: the processes holding a timerfd
        # (which one it is, its link does not say).
        return [
            p for p in snap.procs if any(f.kind == "timerfd" for f in p.fds)
        ], f"a disarmed timerfd {end.fd}"
    if end.kind == "signalfd":
        senders = _senders(snap, proc, [s for s in range(1, 65) if end.detail >> (s - 1) & 1])
        return (senders, f"signalfd {end.fd}") if senders is not None else None
    return None


def is_wake_up_socket(snap: Snapshot, proc: Process, end: Fd) -> bool:
    """A socket whose peer only its own process holds: a wake-up socket (asyncio's self-pipe, a
    selector's), written by the process's other threads and its signal handlers."""
    if end.kind != "socket":
        return False
    sock = snap.socket(end.inode)
    peers = socket_holders(snap, sock.peer) if sock is not None and sock.peer else []
    return bool(peers) and all(p.pid == proc.pid for p in peers)


def _fd_name(snap: Snapshot, end: Fd | None, fd: int) -> str:
    if end is None:
        return f"fd {fd}" if fd >= 0 else "a file no longer open under its number"
    if end.kind == "socket":
        sock = snap.socket(end.inode)
        return describe_socket(sock) if sock else f"socket:[{end.inode}]"
    if end.kind == "pipe":
        return f"pipe:[{end.inode}]"
    return f"{end.kind} fd {end.fd}" if end.kind == "other" else f"{end.kind} {end.fd}"


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
    senders = _senders(snap, proc, handled)
    names = ", ".join(_signame(s) for s in handled)
    return dataclasses.replace(
        wait,
        wakers=wait.wakers | _threads(senders or [], (wait.pid, wait.tid)),
        outside=wait.outside or senders is None,
        what=f"{wait.what} (a {names} handler may end it)"
        if len(handled) == 1
        else f"{wait.what} ({names} handlers may end it)",
    )


def _senders(snap: Snapshot, proc: Process, signals: Sequence[int]) -> list[Process] | None:
    """Who may send ``proc`` one of these signals: None when a timer nobody can see may (SIGALRM,
    or a signal one of its POSIX timers delivers); else every process of the tree but
    multiprocessing's services. Signals in ``UNCOUNTED`` have no sender here (an interruption,
    not progress), nor has a signal from outside the tree (a user's ``kill``: an intervention)."""
    counted = [s for s in signals if not UNCOUNTED >> (s - 1) & 1]
    if any(s == signal.SIGALRM or s in proc.timer_signals for s in counted):
        return None
    return [p for p in snap.procs if not is_service(snap, p)] if counted else []


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
    if call in syscalls.PIPE_IO or call in syscalls.SOCKET_IO:
        wait = _io_wait(snap, proc, th, me, call)
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
        what = f"in {call}(), which only something outside the tree can end"
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
