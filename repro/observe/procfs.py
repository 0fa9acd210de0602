"""The few /proc readings shared below the engine: where /proc is, a syscall line, a pipe's fill.

Everything else the engine reads (threads, fd tables, wait details) lives in
``joinstall.engine.snapshot``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import stat
import struct
import termios

from joinstall.observe import pipes

#: Overridable so that tests can play a platform without /proc.
PROC = os.environ.get("JOINSTALL_PROCFS", "/proc")


@dataclasses.dataclass(frozen=True)
class PipeState:
    """Bytes buffered in a pipe (FIONREAD) and its capacity (F_GETPIPE_SZ)."""

    inode: int
    fill: int
    capacity: int


def available() -> bool:
    """Whether this platform has a Linux-style ``/proc`` to observe processes through."""
    return os.path.exists(f"{PROC}/self/task") and os.path.exists(f"{PROC}/self/syscall")


def parse_syscall(text: str) -> tuple[int | None, tuple[int, ...]]:
    """Parse ``/proc/PID/task/TID/syscall``: ``running``, ``-1 sp pc`` or ``nr a0 .. a5 sp pc``."""
    fields = text.split()
    if not fields:
        return None, ()
    if fields[0] == "running":
        return -1, ()
    nr = int(fields[0])
    return nr, tuple(int(a, 16) for a in fields[1:7]) if nr >= 0 else ()


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
