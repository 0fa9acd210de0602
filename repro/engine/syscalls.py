"""Syscall numbers and flags the engine reasons about, per architecture, with their plain names."""

from __future__ import annotations

import platform

_TABLES = {
    "x86_64": {
        0: "read", 1: "write", 7: "poll", 19: "readv", 20: "writev", 23: "select", 35: "nanosleep",
        42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg",
        61: "wait4", 202: "futex", 219: "restart_syscall", 230: "clock_nanosleep", 232: "epoll_wait",
        247: "waitid", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait", 288: "accept4",
        441: "epoll_pwait2",
    },
    "aarch64": {
        63: "read", 64: "write", 65: "readv", 66: "writev", 72: "pselect6", 73: "ppoll",
        95: "waitid", 98: "futex", 101: "nanosleep", 115: "clock_nanosleep", 128: "restart_syscall",
        202: "accept", 203: "connect", 206: "sendto", 207: "recvfrom", 211: "sendmsg", 212: "recvmsg",
        242: "accept4", 260: "wait4", 22: "epoll_pwait", 441: "epoll_pwait2",
    },
}  # fmt: skip

NAMES: dict[int, str] = _TABLES.get(platform.machine(), _TABLES["x86_64"])
PIPE_IO = frozenset({"read", "readv", "write", "writev"})
#: Calls that only sockets take; ``read``/``write`` on a socket fd are socket I/O too.
SOCKET_IO = frozenset({"recvfrom", "recvmsg", "sendto", "sendmsg"})
WRITES = frozenset({"write", "writev", "sendto", "sendmsg"})
POLLS = frozenset({"poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2"})
SLEEPS = frozenset({"nanosleep", "clock_nanosleep"})
EXITS = frozenset({"wait4", "waitid"})

FUTEX_WAIT = 0
FUTEX_WAIT_BITSET = 9
FUTEX_PRIVATE_FLAG = 128
FUTEX_CLOCK_REALTIME = 256
POLLIN = 0x001
POLLPRI = 0x002
POLLOUT = 0x004


NUMBERS: dict[str, int] = {n: nr for nr, n in NAMES.items()}
#: A wait a ptrace stop (py-spy, a debugger) interrupted is resumed as ``restart_syscall``; its
#: registers still hold the first call's arguments, and its wait channel says which call it was.
RESUMED = (("epoll", "epoll_wait"), ("poll", "poll"), ("futex", "futex"), ("nanosleep", "clock_nanosleep"))


def resumed(nr: int | None, wchan: str) -> int | None:
    """The call a ``restart_syscall`` resumes, told by its wait channel; else ``nr`` itself."""
    if name(nr) != "restart_syscall":
        return nr
    return next((NUMBERS[call] for part, call in RESUMED if part in wchan), nr)


def name(nr: int | None) -> str:
    """A syscall's name, ``running``, or ``unknown``."""
    if nr is None:
        return "unknown"
    if nr == -1:
        return "running"
    return NAMES.get(nr, f"syscall {nr}")
