"""One sample of a process tree from outside, through ``/proc``: what every thread sleeps in.

For each thread: its state, the syscall it sleeps in with the arguments, the wait channel, and
the counters that move whenever it wakes (context switches, CPU time). For each process: its fd
table (pipes by inode and end, sockets, the rest), and what a wait needs from its memory: the
``pollfd`` array of a ``poll``, the timeout a ``futex`` was given, the shared mapping a futex
lives in. Nothing here decides anything: the graph and the verdict are pure functions of this.
Every reader tolerates a process or thread that vanishes mid-read: trees change under us.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import stat
import struct
import time
from collections.abc import Iterable, Mapping
from typing import Any

from joinstall.engine import sockets, syscalls
from joinstall.engine.sockets import Socket
from joinstall.observe import procfs

PROC = procfs.PROC
#: A shared futex whose mapping could not be told: anyone might wake it.
UNKNOWN = "?"


@dataclasses.dataclass(frozen=True)
class Thread:
    """One thread. ``syscall`` is the number it sleeps in, -1 if running, None if unreadable.

    ``fds``: for a poll/select/epoll, the (fd, events) it waits on; ``timeout``: the seconds a
    timed wait was given (None: no timeout, or not timed); ``shared``: for a futex without the
    PRIVATE flag on a shared mapping, that mapping's ``dev:inode`` key.
    """

    tid: int
    name: str
    state: str
    syscall: int | None
    args: tuple[int, ...]
    wchan: str
    switches: int
    cpu: int
    fds: tuple[tuple[int, int], ...] = ()
    timeout: float | None = None
    shared: str | None = None
    #: The shared futex's file still has a name (a spawn or forkserver semaphore in /dev/shm):
    #: a process that has not mapped it yet can still open it by that name and post.
    named: bool = False

    def signature(self) -> tuple[Any, ...]:
        """What must be equal in two samples for the thread to be in the same wait."""
        return (self.state, self.syscall, self.args, self.switches, self.cpu)


@dataclasses.dataclass(frozen=True)
class Fd:
    """An open fd: ``kind`` is ``pipe``, ``socket``, one of ``ANON`` or ``other``; ``inode`` for
    pipes and sockets. ``detail`` is what tells such an fd apart where its inode cannot: a pidfd's
    pid, a signalfd's signal mask, an eventfd's id (0 when the kernel does not say)."""

    fd: int
    kind: str
    inode: int
    readable: bool
    writable: bool
    detail: int = 0


@dataclasses.dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    name: str
    cmdline: tuple[str, ...]
    threads: tuple[Thread, ...]
    fds: tuple[Fd, ...]
    #: Shared mappings (``dev:inode``) this process maps: who can wake a shared futex.
    shared_maps: tuple[str, ...] = ()
    #: Signals with a handler installed (``SigCgt``): their handlers may end the main thread's
    #: wait (see ``waits``).
    caught: int = 0
    #: Signals of the process's POSIX timers (``timer_create``), read where a handler is caught.
    timer_signals: tuple[int, ...] = ()
    #: The file name of its executable (``python3.11``, ``sh``): what it runs, read once here so
    #: that a replay on another machine (or after the pid is reused) names it the same.
    exe: str = ""

    def fd(self, number: int) -> Fd | None:
        return next((f for f in self.fds if f.fd == number), None)

    def holds(self, inode: int, *, write: bool) -> bool:
        return any(
            f.kind == "pipe" and f.inode == inode and (f.writable if write else f.readable) for f in self.fds
        )

    def holds_socket(self, inode: int) -> bool:
        return any(f.kind == "socket" and f.inode == inode for f in self.fds)


@dataclasses.dataclass(frozen=True)
class Pipe:
    """Bytes buffered in a pipe (FIONREAD) and its capacity (F_GETPIPE_SZ)."""

    inode: int
    fill: int
    capacity: int


@dataclasses.dataclass(frozen=True)
class Snapshot:
    t: float
    procs: tuple[Process, ...]
    pipes: tuple[Pipe, ...]
    #: The sockets a thread waits on and their peers (state, peer inode, queued bytes).
    sockets: tuple[Socket, ...] = ()

    def proc(self, pid: int) -> Process | None:
        return next((p for p in self.procs if p.pid == pid), None)

    def pipe(self, inode: int) -> Pipe | None:
        return next((p for p in self.pipes if p.inode == inode), None)

    def socket(self, inode: int) -> Socket | None:
        return next((s for s in self.sockets if s.inode == inode), None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """Rebuild a recorded snapshot: the verdict is replayed on recordings in the tests."""

        def thread(t: Mapping[str, Any]) -> Thread:
            fds = tuple((int(a), int(b)) for a, b in t.get("fds", ()))
            return Thread(**{**t, "args": tuple(t["args"]), "fds": fds})

        procs = tuple(
            Process(
                p["pid"], p["ppid"], p["name"], tuple(p["cmdline"]),
                tuple(thread(t) for t in p["threads"]), tuple(Fd(**f) for f in p["fds"]),
                tuple(p.get("shared_maps", ())), int(p.get("caught", 0)),
                tuple(p.get("timer_signals", ())), p.get("exe", ""),
            )
            for p in data["procs"]
        )  # fmt: skip
        socks = tuple(Socket.from_dict(q) for q in data.get("sockets", ()))
        return cls(data["t"], procs, tuple(Pipe(**q) for q in data["pipes"]), socks)


#: Whether this platform has a Linux-style ``/proc`` to observe processes through.
available = procfs.available


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _mem(pid: int, addr: int, size: int) -> bytes | None:
    """``size`` bytes of the process's memory at ``addr`` (root or the same user), or None."""
    if not addr or size <= 0:
        return None
    try:
        fd = os.open(f"{PROC}/{pid}/mem", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.pread(fd, size, addr)
        return data if len(data) == size else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _timespec(pid: int, addr: int, absolute_clock: int | None) -> float | None:
    """Seconds left of a ``struct timespec`` timeout (absolute on ``absolute_clock`` if given)."""
    raw = _mem(pid, addr, 16)
    if raw is None:
        return None
    sec, nsec = struct.unpack("qq", raw)
    value = float(sec) + float(nsec) / 1e9
    if absolute_clock is not None:
        value -= time.clock_gettime(absolute_clock)
    return max(0.0, value)


def _given(pointer: int, timeout: float | None) -> float | None:
    """A timeout read through a pointer: a non-NULL one we could not read counts as a short wait
    (a polling loop: live), never as a wait for ever."""
    return 0.0 if pointer and timeout is None else timeout


def _wait_details(pid: int, nr: int | None, args: tuple[int, ...]) -> dict[str, Any]:
    """What a wait needs from the process's memory: poll fds and the timeout."""
    name = syscalls.name(nr)
    if name in ("poll", "ppoll") and len(args) >= 3:
        nfds = min(args[1], 4096)
        raw = _mem(pid, args[0], 8 * nfds) if nfds else b""
        fds = tuple((fd, events) for fd, events, _ in struct.iter_unpack("ihh", raw or b""))
        if name == "poll":
            ms = struct.unpack("i", struct.pack("I", args[2] & 0xFFFFFFFF))[0]
            timeout = None if ms < 0 else ms / 1000
        else:
            timeout = _given(args[2], _timespec(pid, args[2], None) if args[2] else None)
        return {"fds": fds, "timeout": timeout}
    if name in ("epoll_wait", "epoll_pwait") and len(args) >= 4:
        ms = struct.unpack("i", struct.pack("I", args[3] & 0xFFFFFFFF))[0]
        return {"fds": _epoll_fds(pid, args[0]), "timeout": None if ms < 0 else ms / 1000}
    if name == "epoll_pwait2" and len(args) >= 4:
        # Its timeout is a timespec pointer (NULL: for ever), not milliseconds.
        timeout = _given(args[3], _timespec(pid, args[3], None) if args[3] else None)
        return {"fds": _epoll_fds(pid, args[0]), "timeout": timeout}
    if name in ("select", "pselect6") and len(args) >= 5:
        fds = _select_fds(pid, args[0], args[1], args[2])
        timeout = None
        if args[4]:
            if name == "select":
                raw = _mem(pid, args[4], 16)
                if raw is not None:
                    sec, usec = struct.unpack("qq", raw)
                    timeout = float(sec) + float(usec) / 1e6
            else:
                timeout = _timespec(pid, args[4], None)
        return {"fds": fds, "timeout": _given(args[4], timeout)}
    if name == "futex" and len(args) >= 4:
        op = args[1]
        cmd = op & 0x7F
        if cmd in (syscalls.FUTEX_WAIT, syscalls.FUTEX_WAIT_BITSET) and args[3]:
            # FUTEX_WAIT's timeout is relative; WAIT_BITSET's absolute, on the clock its flag names.
            clock = None
            if cmd == syscalls.FUTEX_WAIT_BITSET:
                clock = time.CLOCK_REALTIME if op & syscalls.FUTEX_CLOCK_REALTIME else time.CLOCK_MONOTONIC
            return {"timeout": _given(args[3], _timespec(pid, args[3], clock))}
    return {}


def _epoll_fds(pid: int, epfd: int) -> tuple[tuple[int, int], ...]:
    """The fds an epoll instance watches, from its fdinfo (``tfd: N events: HEX ... ino:HEX``).

    An epoll watches open files, not numbers: a file registered as fd 7 and closed there while a
    ``dup`` of it lives on is still watched, and 7 may name another file by now. Such an entry
    (its inode differs from fd 7's) is given as fd -1: a file we cannot name, watched by nobody
    we can see. So is an epoll we cannot read.
    """
    try:
        text = _read(f"{PROC}/{pid}/fdinfo/{epfd}")
    except OSError:
        return ((-1, syscalls.POLLIN),)
    out = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "tfd:" and len(parts) >= 4:
            fd = int(parts[1])
            ino = next((int(p[4:], 16) for p in parts if p.startswith("ino:")), None)
            try:
                same = ino is None or os.stat(f"{PROC}/{pid}/fd/{fd}").st_ino == ino
            except OSError:
                same = False
            out.append((fd if same else -1, int(parts[3], 16)))
    return tuple(out)


def _select_fds(pid: int, nfds: int, rset: int, wset: int) -> tuple[tuple[int, int], ...]:
    nfds = min(nfds, 65536)
    size = ((nfds + 63) // 64) * 8
    out: list[tuple[int, int]] = []
    for addr, events in ((rset, syscalls.POLLIN), (wset, syscalls.POLLOUT)):
        raw = _mem(pid, addr, size) if addr else None
        if raw is None:
            continue
        bits = int.from_bytes(raw, "little")
        out += [(fd, events) for fd in range(nfds) if bits >> fd & 1]
    return tuple(out)


def _thread(pid: int, tid: int) -> Thread:
    base = f"{PROC}/{pid}/task/{tid}"
    text = _read(f"{base}/stat")
    # Why rpartition: the comm field may itself contain spaces and parentheses.
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    name = head.partition("(")[2]
    state, cpu = fields[0], int(fields[11]) + int(fields[12])
    try:
        nr, args = procfs.parse_syscall(_read(f"{base}/syscall"))
    except OSError:
        nr, args = None, ()
    try:
        wchan = _read(f"{base}/wchan").strip()
    except OSError:
        wchan = ""
    nr = syscalls.resumed(nr, wchan)
    switches = 0
    for line in _read(f"{base}/status").splitlines():
        if "ctxt_switches:" in line:
            switches += int(line.split()[1])
    details = _wait_details(pid, nr, args) if state in "SD" else {}
    return Thread(tid, name, state, nr, args, "" if wchan == "0" else wchan, switches, cpu, **details)


#: Kinds of anonymous fds an event loop waits on, by what their link names (``anon_inode:[pidfd]``,
#: or ``pidfd:[N]`` on kernels with a pid file system): each is woken by someone else.
ANON = {
    "pidfd": "pidfd",
    "eventfd": "eventfd",
    "signalfd": "signalfd",
    "timerfd": "timerfd",
    "inotify": "inotify",
    "eventpoll": "epoll",
}
#: The line of an fd's ``fdinfo`` that tells it apart (its pid, its signal mask, its id).
_DETAIL = {
    "pidfd": ("Pid:", 10),
    "signalfd": ("sigmask:", 16),
    "eventfd": ("eventfd-id:", 10),
    "timerfd": ("it_value:", 0),
}
#: A timerfd's ``detail``: armed (it will fire by itself) or disarmed (only ``timerfd_settime`` by
#: a holder can make it fire).
TIMER_ARMED, TIMER_DISARMED = 1, 2


def _kind(target: str) -> str:
    if target.startswith("pipe:["):
        return "pipe"
    if target.startswith("socket:["):
        return "socket"
    if target.startswith(("anon_inode:", "pidfd:")):
        name = target.partition(":")[2].strip("[]")
        return ANON.get(name, "pidfd" if target.startswith("pidfd:") else "other")
    return "other"


def fd_detail(pid: int, fd: int, kind: str) -> int:
    """What ``_DETAIL`` names for this fd, from its fdinfo; 0 when unknown."""
    key, base = _DETAIL[kind]
    try:
        text = _read(f"{PROC}/{pid}/fdinfo/{fd}")
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(key):
            if kind == "timerfd":  # ``it_value: (0, 0)``: nothing left to count down
                return TIMER_DISARMED if line.split(":", 1)[1].split() == ["(0,", "0)"] else TIMER_ARMED
            try:
                return int(line.split()[1], base)
            except (IndexError, ValueError):
                return 0
    return 0


def _fds(pid: int) -> tuple[Fd, ...]:
    out = []
    base = f"{PROC}/{pid}/fd"
    for entry in os.listdir(base):
        path = f"{base}/{entry}"
        try:
            target = os.readlink(path)
            # The link's own mode bits are the fd's open mode: r-x read, -wx write, rwx both.
            mode = os.lstat(path).st_mode
        except OSError:
            continue
        kind = _kind(target)
        inode = int(target[target.index("[") + 1 : -1]) if kind in ("pipe", "socket") else 0
        detail = fd_detail(pid, int(entry), kind) if kind in _DETAIL else 0
        out.append(Fd(int(entry), kind, inode, bool(mode & stat.S_IRUSR), bool(mode & stat.S_IWUSR), detail))
    return tuple(sorted(out, key=lambda f: f.fd))


def shared_maps(pid: int) -> tuple[str, ...]:
    """``dev:inode`` of every shared mapping of the process (where a shared futex can live)."""
    out = set()
    try:
        text = _read(f"{PROC}/{pid}/maps")
    except OSError:
        return ()
    for line in text.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) >= 5 and parts[1][3:4] == "s" and parts[4] != "0":
            out.add(f"{parts[3]}:{parts[4]}")
    return tuple(sorted(out))


def _mapping_of(pid: int, addr: int) -> tuple[str | None, bool]:
    """``dev:inode`` of the shared mapping holding ``addr`` (None for private memory, ``?``
    unknown), and whether its file still has a name (``map_files`` shows the link count)."""
    try:
        text = _read(f"{PROC}/{pid}/maps")
    except OSError:
        return UNKNOWN, True
    for line in text.splitlines():
        parts = line.split(maxsplit=5)
        lo, _, hi = parts[0].partition("-")
        if int(lo, 16) <= addr < int(hi, 16):
            if parts[1][3:4] != "s":
                return None, False
            if parts[4] == "0":
                return UNKNOWN, True
            try:
                named = os.stat(f"{PROC}/{pid}/map_files/{parts[0]}").st_nlink > 0
            except OSError:
                named = True  # unknown: someone may yet open it
            return f"{parts[3]}:{parts[4]}", named
    return UNKNOWN, True


def process(pid: int) -> Process | None:
    """Everything we watch about one process, or None if it is gone or not ours to read."""
    try:
        text = _read(f"{PROC}/{pid}/stat")
        head, _, rest = text.rpartition(")")
        name, ppid = head.partition("(")[2], int(rest.split()[1])
        cmdline = tuple(a for a in _read(f"{PROC}/{pid}/cmdline").split("\0") if a)
        threads = []
        for tid in sorted(int(t) for t in os.listdir(f"{PROC}/{pid}/task")):
            try:
                th = _thread(pid, tid)
            except (FileNotFoundError, ProcessLookupError):
                continue
            futex = syscalls.name(th.syscall) == "futex" and th.state == "S" and len(th.args) > 1
            if futex and not th.args[1] & syscalls.FUTEX_PRIVATE_FLAG:
                key, named = _mapping_of(pid, th.args[0])
                th = dataclasses.replace(th, shared=key, named=named)
            threads.append(th)
        fds = _fds(pid)
        caught = next(
            (
                int(ln.split()[1], 16)
                for ln in _read(f"{PROC}/{pid}/status").splitlines()
                if ln.startswith("SigCgt:")
            ),
            0,
        )
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    maps = shared_maps(pid) if any(t.shared for t in threads) else ()
    timers = timer_signals(pid) if caught & ~UNCOUNTED else ()
    try:
        exe = os.path.basename(os.readlink(f"{PROC}/{pid}/exe"))
    except OSError:  # a zombie, a kernel thread, or another user's
        exe = ""
    return Process(pid, ppid, name, cmdline, tuple(threads), fds, maps, caught, timers, exe)


#: Handled signals that end no wait in the graph's sense: SIGINT (every Python process handles
#: it; it interrupts, it does not make progress), the synchronous faults a crash handler
#: (faulthandler) catches, what a terminal sends (a resize, job control: pytest handles
#: SIGWINCH), and the two real-time signals glibc keeps for itself in every process with threads
#: (32, thread cancellation; 33, set*id across threads: a queue's feeder makes a child threaded).
#: As a bit mask of ``SigCgt``.
UNCOUNTED = sum(
    1 << (s - 1)
    for s in (
        signal.SIGINT, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT,
        signal.SIGTRAP, signal.SIGSYS, signal.SIGWINCH, signal.SIGTSTP, signal.SIGTTIN,
        signal.SIGTTOU, signal.SIGCONT, 32, 33,
    )
)  # fmt: skip


def timer_signals(pid: int) -> tuple[int, ...]:
    """The signals the process's POSIX timers deliver (``/proc/PID/timers``, ``signal: N/...``)."""
    try:
        text = _read(f"{PROC}/{pid}/timers")
    except OSError:
        return ()
    found = {int(ln.split()[1].partition("/")[0]) for ln in text.splitlines() if ln.startswith("signal:")}
    return tuple(sorted(found))


def any_write(pids: Iterable[int]) -> bool:
    """Whether a thread of these processes sleeps in ``write()``: one read per thread, no more."""
    for pid in pids:
        try:
            tids = os.listdir(f"{PROC}/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                nr, _ = procfs.parse_syscall(_read(f"{PROC}/{pid}/task/{tid}/syscall"))
            except OSError:
                continue
            if syscalls.name(nr) in ("write", "writev"):
                return True
    return False


def take(pids: Iterable[int]) -> Snapshot:
    """One sample of the given processes and of every pipe a thread among them waits on."""
    t = time.monotonic()
    procs = [p for p in (process(pid) for pid in dict.fromkeys(pids)) if p is not None]
    if any(t.shared for p in procs for t in p.threads):
        # Who else maps the semaphore is needed of every process, not just the waiter.
        procs = [
            p if p.shared_maps else dataclasses.replace(p, shared_maps=shared_maps(p.pid)) for p in procs
        ]
    # Only the pipes a thread sleeps reading or writing are measured: each costs an open.
    waited = {
        end.inode
        for proc in procs
        for th in proc.threads
        if syscalls.name(th.syscall) in syscalls.PIPE_IO and th.args
        for end in proc.fds
        if end.fd == th.args[0] and end.kind == "pipe"
    }
    pipes: dict[int, Pipe] = {}
    for proc in procs:
        for end in proc.fds:
            if end.kind == "pipe" and end.inode in waited and end.inode not in pipes:
                measured = procfs.pipe_state(proc.pid, end.fd, end.inode)
                if measured is not None:
                    pipes[end.inode] = Pipe(end.inode, measured.fill, measured.capacity)
    return Snapshot(t, tuple(procs), tuple(pipes.values()), _sockets(procs))


def _sockets(procs: list[Process]) -> tuple[Socket, ...]:
    """The sockets a thread waits on (reads, writes or polls) and their peers: one dump of the
    kernel's socket tables, and only when some thread waits on a socket at all."""
    waited: set[int] = set()
    for proc in procs:
        for th in proc.threads:
            call = syscalls.name(th.syscall)
            if call in syscalls.PIPE_IO or call in syscalls.SOCKET_IO:
                numbers = [th.args[0]] if th.args else []
            elif call in syscalls.POLLS:
                numbers = [fd for fd, _ in th.fds]
            else:
                continue
            waited |= {e.inode for n in numbers if (e := proc.fd(n)) is not None and e.kind == "socket"}
    found = sockets.socket_table(waited, peers=True)
    return tuple(found[i] for i in sorted(found))
