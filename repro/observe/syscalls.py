"""Syscall numbers joinstall reasons about, per architecture, with their plain names."""

from __future__ import annotations

import platform

_TABLES = {
    "x86_64": {
        0: "read", 1: "write", 7: "poll", 19: "readv", 20: "writev", 23: "select",
        61: "wait4", 202: "futex", 219: "restart_syscall", 230: "clock_nanosleep", 232: "epoll_wait",
        247: "waitid", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait",
    },
    "aarch64": {
        63: "read", 64: "write", 65: "readv", 66: "writev", 72: "pselect6", 73: "ppoll",
        95: "waitid", 98: "futex", 115: "clock_nanosleep", 128: "restart_syscall", 260: "wait4", 22: "epoll_pwait",
    },
}  # fmt: skip

NAMES: dict[int, str] = _TABLES.get(platform.machine(), _TABLES["x86_64"])
WRITES = frozenset(nr for nr, n in NAMES.items() if n in ("write", "writev"))
READS = frozenset(nr for nr, n in NAMES.items() if n in ("read", "readv"))


def name(nr: int | None) -> str:
    """A syscall's name, ``running``, or ``unknown``."""
    if nr is None:
        return "unknown"
    if nr == -1:
        return "running"
    return NAMES.get(nr, f"syscall {nr}")
