"""Processes that leave a watched tree: who went, when, how, and whether the kernel's OOM killer
was counting meanwhile.

A process's exit status lives only as long as it is a zombie: its parent reaps it, often within
microseconds (a Pool's worker handler does). Two ways to still learn it: the kernel's process
events (the netlink connector, ``PROC_EVENT_EXIT`` carries every exit's status; it needs
CAP_NET_ADMIN, so often root only), and a sample that catches the zombie and reads the status
from ``/proc/PID/stat`` (its 52nd field). Otherwise the status is unknown, and the words say so.
The OOM kill counter (``oom_kill`` in ``/proc/vmstat``) is machine-wide: its rise says an OOM kill
happened meanwhile, not whose.
"""

from __future__ import annotations

import os
import socket
import struct
import time
import weakref

from joinstall.engine.causes import Departure
from joinstall.engine.snapshot import PROC, Snapshot


def oom_kills(proc: str = PROC) -> int | None:
    """The kernel's count of OOM kills since boot, or None where it is not shown."""
    try:
        with open(f"{proc}/vmstat", "rb") as f:
            for line in f:
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def exit_status(pid: int, proc: str = PROC) -> int | None:
    """A zombie's end as ``Departure.status`` says it (-N signal N, else the exit code)."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        if fields[0] != b"Z" or len(fields) < 50:
            return None
        status = int(fields[49])  # field 52 of the whole line: two fields precede the ")"
    except (OSError, ValueError, IndexError):
        return None
    return _status(status)


NETLINK_CONNECTOR = 11
CN_IDX_PROC = CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_EVENT_EXIT = 0x80000000
_NLMSG, _CN_MSG, _EVENT_HEAD = 16, 20, 16


class ExitEvents:
    """The kernel's exit events, as a non-blocking subscription; ``None`` from ``open`` where the
    kernel refuses it (no CAP_NET_ADMIN, no connector). The socket is held as a bare fd, closed
    when the subscription is collected: a watcher has no end of its own to close it at."""

    def __init__(self, sock: socket.socket) -> None:
        self.fd = sock.detach()
        weakref.finalize(self, os.close, self.fd)

    @classmethod
    def open(cls) -> ExitEvents | None:
        try:
            sock = socket.socket(
                socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK,
                NETLINK_CONNECTOR,
            )  # fmt: skip
        except (OSError, AttributeError):
            return None
        try:
            sock.bind((0, CN_IDX_PROC))
            listen = struct.pack("=I", PROC_CN_MCAST_LISTEN)
            msg = struct.pack("=IIIIHH", CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(listen), 0) + listen
            sock.send(struct.pack("=IHHII", _NLMSG + len(msg), 3, 0, 0, 0) + msg)  # NLMSG_DONE
        except OSError:
            sock.close()
            return None
        return cls(sock)

    def drain(self) -> dict[int, int]:
        """pid -> wait status of every process that exited since the last drain."""
        out: dict[int, int] = {}
        while True:
            try:
                data = os.read(self.fd, 65536)
            except (BlockingIOError, InterruptedError):
                return out
            except OSError:  # ENOBUFS: events were lost; the samples still see zombies
                continue
            off = 0
            while off + _NLMSG + _CN_MSG + _EVENT_HEAD <= len(data):
                length = struct.unpack_from("=I", data, off)[0]
                event = off + _NLMSG + _CN_MSG
                if struct.unpack_from("=I", data, event)[0] == PROC_EVENT_EXIT:
                    pid, tgid, status, _ = struct.unpack_from("=iiII", data, event + _EVENT_HEAD)
                    if pid == tgid:  # the process, not one of its other threads
                        out[tgid] = status
                off += max((length + 3) & ~3, 1)


def _status(wait_status: int) -> int:
    """A ``wait`` status as ``Departure.status`` says it (-N signal N, else the exit code)."""
    return -(wait_status & 0x7F) if wait_status & 0x7F else wait_status >> 8 & 0xFF


class Departures:
    """Fed every sample of a tree; ``gone`` lists the processes that left it since the first."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.oom_start = oom_kills()
        self.alive: dict[int, int] = {}
        self.status: dict[int, int] = {}
        self.gone: list[Departure] = []
        self.events = ExitEvents.open()

    def observe(self, snap: Snapshot) -> None:
        now = time.monotonic() - self.start
        present = {p.pid: p.ppid for p in snap.procs}
        if self.events is not None:
            exits = self.events.drain()
            self.status.update((pid, _status(st)) for pid, st in exits.items() if pid in self.alive)
        for p in snap.procs:
            if p.threads and all(t.state in "ZX" for t in p.threads) and p.pid not in self.status:
                found = exit_status(p.pid)
                if found is not None:
                    self.status[p.pid] = found
        left = [pid for pid in self.alive if pid not in present]
        if left:
            oom_now = oom_kills()
            oom = None if oom_now is None or self.oom_start is None else oom_now > self.oom_start
            for pid in left:
                self.gone.append(Departure(pid, self.alive[pid], self.status.get(pid), round(now, 3), oom))
        self.alive = present
