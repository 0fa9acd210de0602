"""Pure functions from observations to a verdict: no processes are needed to test them.

A stall is *proven* when, over a window of samples, the same thread sleeps in ``write()`` on
a pipe whose fill level does not move, and no thread of any process that holds the pipe's
read end is reading it or even runnable. Nothing can then drain the pipe, so the write
cannot finish, and a ``join`` on the writer's process can only return at its timeout.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from joinstall.observe import names, syscalls
from joinstall.observe.procfs import ProcState, Snapshot, ThreadState

#: Two samples could be a coincidence; three over the window are the minimum we call proof.
MIN_SAMPLES = 3
SLEEPING = frozenset("SD")


class Verdict(str, enum.Enum):
    OK = "ok"
    STALLED = "stalled"
    DATA_LOSS = "data_loss"
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class Holder:
    """A process holding one end of the stalled pipe, and what each of its threads does."""

    pid: int
    name: str
    fd: int
    threads: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class StallEvidence:
    writer_pid: int
    writer_tid: int
    syscall: str
    wchan: str
    requested_bytes: int
    pipe_inode: int
    fill: int
    capacity: int
    readers: tuple[Holder, ...]
    writers: tuple[Holder, ...]
    window_s: float
    samples: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StallEvidence:
        fields = dict(data)
        for key in ("readers", "writers"):
            fields[key] = tuple(Holder(h["pid"], h["name"], h["fd"], tuple(h["threads"])) for h in data[key])
        return cls(**fields)


def thread_label(proc: ProcState, thread: ThreadState) -> str:
    return f"{names.thread(proc.pid, thread.tid)} in {syscalls.name(thread.syscall)}"


def _pipe_fds(proc: ProcState, inode: int, writable: bool) -> set[int]:
    return {e.fd for e in proc.pipes if e.inode == inode and e.writable == writable}


def blocked_writes(snap: Snapshot) -> list[tuple[ProcState, ThreadState, int]]:
    """Threads sleeping in write() on a pipe: (process, thread, pipe inode)."""
    found = []
    for proc in snap.procs:
        for th in proc.threads:
            if th.syscall in syscalls.WRITES and th.state in SLEEPING and th.args:
                inode = next((e.inode for e in proc.pipes if e.fd == th.args[0] and e.writable), None)
                if inode is not None:
                    found.append((proc, th, inode))
    return found


def nobody_reads(snap: Snapshot, inode: int) -> bool:
    """Someone holds the read end, and none of its holders reads or is even runnable.

    A pipe whose reader is not in the snapshot at all proves nothing: that reader (outside
    the observed tree) may be draining it slowly.
    """
    holders = [(proc, fds) for proc in snap.procs if (fds := _pipe_fds(proc, inode, writable=False))]
    if not holders:
        return False
    for proc, fds in holders:
        for th in proc.threads:
            if th.state not in SLEEPING and th.state != "Z":
                return False
            if th.syscall in syscalls.READS and th.args and th.args[0] in fds:
                return False
    return True


def _still_blocked(snap: Snapshot, pid: int, tid: int, inode: int, fill: int) -> bool:
    pipe = snap.pipe(inode)
    if pipe is None or pipe.fill != fill:
        return False
    if not any(p.pid == pid and t.tid == tid and i == inode for p, t, i in blocked_writes(snap)):
        return False
    return nobody_reads(snap, inode)


def _holders(snap: Snapshot, inode: int, writable: bool) -> tuple[Holder, ...]:
    out = []
    for proc in snap.procs:
        for fd in sorted(_pipe_fds(proc, inode, writable)):
            labels = tuple(thread_label(proc, th) for th in proc.threads)
            out.append(Holder(proc.pid, proc.name, fd, labels))
    return tuple(out)


def prove_stall(snaps: Sequence[Snapshot], window: float) -> StallEvidence | None:
    """Evidence that a write can never finish, or None while that is not proven.

    Stalls can chain (``cat`` blocks writing to ``head``, which blocks writing to Python): the
    one reported is the end of the chain, the stall whose readers are not themselves stuck
    writers, because that is where the cycle closes.
    """
    found = _proven(snaps, window)
    if not found:
        return None
    # A reader that is itself stuck writing into another pipe is the next link: wait for it.
    stuck = {proc.pid for proc, _, _ in blocked_writes(snaps[-1])}
    ends = [ev for ev in found if not stuck & ({h.pid for h in ev.readers} - {ev.writer_pid})]
    return ends[0] if ends else None


def _proven(snaps: Sequence[Snapshot], window: float) -> list[StallEvidence]:
    if not snaps:
        return []
    last = snaps[-1]
    out = []
    for proc, th, inode in blocked_writes(last):
        pipe = last.pipe(inode)
        if pipe is None or pipe.fill == 0:
            continue
        run = 0
        for snap in reversed(snaps):
            if not _still_blocked(snap, proc.pid, th.tid, inode, pipe.fill):
                break
            run += 1
        span = last.t - snaps[-run].t if run else 0.0
        if run >= MIN_SAMPLES and span >= window:
            out.append(
                StallEvidence(
                    writer_pid=proc.pid,
                    writer_tid=th.tid,
                    syscall=syscalls.name(th.syscall),
                    wchan=th.wchan,
                    requested_bytes=th.args[2] if len(th.args) > 2 else 0,
                    pipe_inode=inode,
                    fill=pipe.fill,
                    capacity=pipe.capacity,
                    readers=_holders(last, inode, writable=False),
                    writers=_holders(last, inode, writable=True),
                    window_s=round(span, 4),
                    samples=run,
                )
            )
    return out


def classify(
    result: Mapping[str, Any] | None,
    evidence: StallEvidence | None,
    exit_code: int | None,
    observed: bool = False,
) -> Verdict:
    """The verdict of one run from the program's RESULT record and the stall evidence.

    ``observed``: the tree was watched through /proc all along. Then a join that timed out
    without any proof only means T was shorter than the child's work: not a stall. Unwatched,
    the timeout is the only evidence there is, and it counts.
    """
    if evidence is not None:
        return Verdict.STALLED
    if result is None:
        return Verdict.ERROR
    if result.get("child_alive_after_join") and not observed:
        return Verdict.STALLED
    if result.get("bytes_received") != result.get("size") or not result.get("sha256_match"):
        return Verdict.DATA_LOSS
    if exit_code != 0:
        return Verdict.ERROR
    return Verdict.OK


def describe(ev: StallEvidence, roles: Mapping[int, str]) -> str:
    """The evidence in plain words, naming processes by their role (parent, child, ...)."""

    thread = names.thread(ev.writer_pid, ev.writer_tid)
    readers = "; ".join(f"{names.process(h.pid, roles)} ({', '.join(h.threads)})" for h in ev.readers)
    return (
        f"{names.process(ev.writer_pid, roles)} {thread} is blocked in {ev.syscall}({ev.requested_bytes:,} bytes)"
        f" [wchan {ev.wchan or '?'}] on pipe:[{ev.pipe_inode}], which holds {ev.fill:,} of"
        f" {ev.capacity:,} bytes, unchanged for {ev.window_s:.3f} s over {ev.samples} samples;"
        f" nobody holding its read end is reading: {readers or 'no reader at all'}"
    )
