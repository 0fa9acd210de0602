"""Linux observation from outside: threads, syscalls, wchan, pipe ends, pipe fill and capacity.

psutil finds the process tree; ``/proc`` gives what psutil does not expose: the syscall a
thread sleeps in (with its arguments), its wait channel, which pipe each fd is, and how full
that pipe is. Every reader tolerates a process that vanishes mid-read: trees change under us.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import stat
import struct
import termios
import time
from typing import Any

import psutil
from joinstall.observe import pipes, syscalls

#: Overridable so that tests can play a platform without /proc.
PROC = os.environ.get("JOINSTALL_PROCFS", "/proc")


@dataclasses.dataclass(frozen=True)
class ThreadState:
    """One thread: ``syscall`` is the number it sleeps in, -1 if running, None if unknown."""

    tid: int
    name: str
    state: str
    syscall: int | None
    args: tuple[int, ...]
    wchan: str


@dataclasses.dataclass(frozen=True)
class PipeEnd:
    """An fd of a process that refers to a pipe, and which end it is."""

    fd: int
    inode: int
    writable: bool


@dataclasses.dataclass(frozen=True)
class ProcState:
    pid: int
    ppid: int
    name: str
    cmdline: tuple[str, ...]
    threads: tuple[ThreadState, ...]
    pipes: tuple[PipeEnd, ...]


@dataclasses.dataclass(frozen=True)
class PipeState:
    """Bytes buffered in a pipe (FIONREAD) and its capacity (F_GETPIPE_SZ)."""

    inode: int
    fill: int
    capacity: int


@dataclasses.dataclass(frozen=True)
class Snapshot:
    t: float
    procs: tuple[ProcState, ...]
    pipes: tuple[PipeState, ...]

    def pipe(self, inode: int) -> PipeState | None:
        return next((p for p in self.pipes if p.inode == inode), None)

    def proc(self, pid: int) -> ProcState | None:
        return next((p for p in self.procs if p.pid == pid), None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        """Rebuild a recorded snapshot (tests replay real recordings through the verdict)."""
        procs = tuple(
            ProcState(
                p["pid"], p["ppid"], p["name"], tuple(p["cmdline"]),
                tuple(ThreadState(**{**t, "args": tuple(t["args"])}) for t in p["threads"]),
                tuple(PipeEnd(**e) for e in p["pipes"]),
            )
            for p in data["procs"]
        )  # fmt: skip
        return cls(data["t"], procs, tuple(PipeState(**q) for q in data["pipes"]))


def available() -> bool:
    """Whether this platform has a Linux-style ``/proc`` to observe processes through."""
    return os.path.exists(f"{PROC}/self/task") and os.path.exists(f"{PROC}/self/syscall")


def tree(root: int) -> list[int]:
    """The root and all its living descendants, parents first."""
    try:
        top = psutil.Process(root)
        kids = top.children(recursive=True)
    except psutil.Error:
        return []
    return [root, *(k.pid for k in kids)]


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def parse_syscall(text: str) -> tuple[int | None, tuple[int, ...]]:
    """Parse ``/proc/PID/task/TID/syscall``: ``running``, ``-1 sp pc`` or ``nr a0 .. a5 sp pc``."""
    fields = text.split()
    if not fields:
        return None, ()
    if fields[0] == "running":
        return -1, ()
    nr = int(fields[0])
    return nr, tuple(int(a, 16) for a in fields[1:7]) if nr >= 0 else ()


def _thread(pid: int, tid: int) -> ThreadState:
    base = f"{PROC}/{pid}/task/{tid}"
    stat_text = _read(f"{base}/stat")
    # Why rpartition: the comm field may itself contain spaces and parentheses.
    state = stat_text.rpartition(")")[2].split()[0]
    try:
        nr, args = parse_syscall(_read(f"{base}/syscall"))
    except PermissionError:
        nr, args = None, ()
    try:
        wchan = _read(f"{base}/wchan").strip()
    except OSError:
        wchan = ""
    name = _read(f"{base}/comm").strip()
    return ThreadState(tid, name, state, nr, args, "" if wchan == "0" else wchan)


def _pipes(pid: int) -> tuple[PipeEnd, ...]:
    ends = []
    fd_dir = f"{PROC}/{pid}/fd"
    for entry in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{entry}")
            if not target.startswith("pipe:["):
                continue
            flags = 0
            for line in _read(f"{PROC}/{pid}/fdinfo/{entry}").splitlines():
                if line.startswith("flags:"):
                    flags = int(line.split()[1], 8)
        except OSError:
            continue
        inode = int(target[6:-1])
        ends.append(PipeEnd(int(entry), inode, (flags & os.O_ACCMODE) != os.O_RDONLY))
    return tuple(sorted(ends, key=lambda e: e.fd))


def any_blocked_write(pids: list[int]) -> bool:
    """Whether any thread of these processes sleeps in write(): the cheap gate for a snapshot."""
    for pid in pids:
        try:
            tids = os.listdir(f"{PROC}/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                nr, _ = parse_syscall(_read(f"{PROC}/{pid}/task/{tid}/syscall"))
            except OSError:
                continue
            if nr in syscalls.WRITES:
                return True
    return False


def read_end_holders(inode: int) -> set[int]:
    """Every process on the machine that holds the read end of this pipe (a full /proc scan).

    Used once, when a stall is about to be called proven: a reader outside the observed tree
    could still drain the pipe, and then nothing is proven.
    """
    holders = set()
    for pid in psutil.pids():
        with contextlib.suppress(OSError):
            for end in _pipes(pid):
                if end.inode == inode and not end.writable:
                    holders.add(pid)
                    break
    return holders


def proc_state(pid: int) -> ProcState | None:
    """Everything we watch about one process, or None if it is gone."""
    try:
        p = psutil.Process(pid)
        with p.oneshot():
            ppid, name, cmdline = p.ppid(), p.name(), tuple(p.cmdline())
        threads = []
        for tid in sorted(int(t) for t in os.listdir(f"{PROC}/{pid}/task")):
            try:
                threads.append(_thread(pid, tid))
            except (FileNotFoundError, ProcessLookupError):
                continue
        return ProcState(pid, ppid, name, cmdline, tuple(threads), _pipes(pid))
    except (psutil.Error, FileNotFoundError, ProcessLookupError, PermissionError):
        # Gone, or not ours to look into: either way there is nothing to observe.
        return None


def pipe_state(pid: int, fd: int, inode: int) -> PipeState | None:
    """Measure a pipe by reopening it through ``/proc/PID/fd/N`` for reading, without blocking."""
    try:
        rfd = os.open(f"{PROC}/{pid}/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISFIFO(os.fstat(rfd).st_mode):
            return None
        buf = fcntl.ioctl(rfd, termios.FIONREAD, b"\0\0\0\0")
        return PipeState(inode, struct.unpack("i", buf)[0], fcntl.fcntl(rfd, pipes.F_GETPIPE_SZ))
    except OSError:
        return None
    finally:
        os.close(rfd)


def snapshot(pids: list[int]) -> Snapshot:
    """One sample of the given processes and every pipe they hold."""
    t = time.monotonic()
    procs = [s for s in (proc_state(pid) for pid in pids) if s is not None]
    pipes: dict[int, PipeState] = {}
    for proc in procs:
        for end in proc.pipes:
            if end.inode not in pipes:
                measured = pipe_state(proc.pid, end.fd, end.inode)
                if measured is not None:
                    pipes[end.inode] = measured
    return Snapshot(t, tuple(procs), tuple(pipes.values()))
