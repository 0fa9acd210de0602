"""A knot in plain words: who waits for whom, why nobody can move, and the fix that fits.

Processes are named by their role (``parent``, ``child``, ``forkserver``) or their program
(``sh``, ``cat``); threads by py-spy's name when a capture gave one (``QueueFeederThread``),
else ``main thread`` or ``thread TID``.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence

from joinstall.engine import causes, syscalls
from joinstall.engine.diagnosis import Diagnosis, PipeInfo, ThreadInfo, Verdict
from joinstall.engine.graph import Knot
from joinstall.engine.snapshot import Process, Snapshot
from joinstall.engine.waits import Kind, Tid, Wait, holders, is_forkserver, is_tracker, socket_holders
from joinstall.spy import pyspy

#: What py-spy says of a thread, keyed by (pid, tid): (thread name, role in words, frame).
Labels = Mapping[Tid, tuple[str | None, str | None, str | None]]

FIX_QUEUE = (
    "drain the queue before joining: call q.get() for every message the child puts, then"
    " p.join() (a bigger pipe or cancel_join_thread() only moves or hides the hang)"
)
FIX_POPEN = "read the child's output while waiting: use proc.communicate() instead of proc.wait()"
FIX_RAW_PIPE = "read the pipe to its end before waiting for the writer to exit (read, then waitpid/join)"
FIX_THREAD = "read the pipe before joining the thread that writes it, or read it from another thread"
FIX_BOTH_WAYS = (
    "write and read at the same time: proc.communicate(input=...) or a thread that feeds the input"
)
FIX_EMPTY = (
    "nothing can ever be written to the pipe this thread reads: the writer has exited or waits"
    " itself; send before exiting, or read with a timeout (q.get(timeout=...), select or poll"
    " with a timeout) and handle the silence"
)
FIX_SOCKET_EMPTY = (
    "send what the other side waits for before waiting for it (to exit or to answer); a receive"
    " that may never get its message wants a timeout: conn.poll(T) before conn.recv(), or"
    " sock.settimeout(T)"
)
FIX_SOCKET_FULL = (
    "receive while sending: read the connection from a thread (or an event loop) while the other"
    " side writes, or send smaller messages that the other side answers one by one"
)
FIX_LOCKS = "take the locks in one fixed order everywhere (or acquire with a timeout and back off)"
FIX_NOBODY = "nothing in the process can ever wake this wait (an event nobody sets, a lock never released)"


def roles(snap: Snapshot, root: int) -> dict[int, str]:
    out: dict[int, str] = {}
    for p in snap.procs:
        if is_tracker(p.cmdline):
            out[p.pid] = "resource tracker"
        elif is_forkserver(snap, p):
            out[p.pid] = "forkserver"
        elif p.pid == root:
            out[p.pid] = "parent" if any(q.ppid == root for q in snap.procs) else p.name
        elif pyspy.is_python(p):
            out[p.pid] = "child" if _parent(snap, p, root) else "process"
        else:
            out[p.pid] = p.name
    return out


def _parent(snap: Snapshot, p: Process, root: int) -> bool:
    """Started by the root, directly or through a forkserver."""
    by = snap.proc(p.ppid)
    return p.ppid == root or (by is not None and is_forkserver(snap, by))


class Namer:
    def __init__(self, snap: Snapshot, root: int, labels: Labels) -> None:
        self.snap, self.labels, self.role = snap, labels, roles(snap, root)

    def proc(self, pid: int) -> str:
        return f"{self.role.get(pid, 'process')} {pid}"

    def thread(self, t: Tid) -> str:
        """``main thread``, ``QueueFeederThread 13`` (py-spy's name), or ``thread 13``."""
        name = self.labels.get(t, (None, None, None))[0]
        if t[0] == t[1]:
            return "main thread"
        return f"{name or 'thread'} {t[1]}"

    def who(self, t: Tid) -> str:
        """``the main thread of parent 12``, ``QueueFeederThread 13 of child 12``."""
        return f"{'the ' if t[0] == t[1] else ''}{self.thread(t)} of {self.proc(t[0])}"

    def doing(self, t: Tid) -> str:
        """What py-spy's frames say the thread does, as an aside, or nothing."""
        role = self.labels.get(t, (None, None, None))[1]
        return f" ({role})" if role else ""

    def procs(self, pids: list[int]) -> str:
        names = [self.proc(p) for p in sorted(set(pids))]
        if len(names) > 4:
            names = [*names[:3], f"{len(names) - 3} more"]
        return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names) or "nobody"


def _step(n: Namer, snap: Snapshot, w: Wait, nxt: Tid | None) -> str:
    me = n.who((w.pid, w.tid)) + n.doing((w.pid, w.tid))
    if w.kind is Kind.PIPE_WRITE:
        pipe = snap.pipe(w.pipe)
        full = f", which holds {pipe.fill:,} of {pipe.capacity:,} bytes" if pipe else ""
        held = [p.pid for p in holders(snap, w.pipe, write=False)]
        who = "none of them is reading" if len(held) > 1 else "it is not reading"
        return (
            f"{me} is blocked writing {w.nbytes:,} bytes into pipe:[{w.pipe}]{full}; only {n.procs(held)}"
            f" {'hold' if len(held) > 1 else 'holds'} its read end, and {who}"
        )
    if w.kind is Kind.PIPE_READ:
        held = [p.pid for p in holders(snap, w.pipe, write=True)]
        if held == [w.pid]:
            return (
                f"{me} is blocked reading pipe:[{w.pipe}], which is empty; only its own process holds the"
                " write end, and no other thread of it will write"
            )
        return (
            f"{me} is blocked reading pipe:[{w.pipe}], which is empty; only {n.procs(held)} can write to it"
        )
    if w.kind is Kind.SOCKET_WRITE:
        held = [p.pid for p in socket_holders(snap, _peer(snap, w.pipe))]
        who = "none of them is reading" if len(held) > 1 else "it is not reading"
        return (
            f"{me} is blocked in {w.what}, sending {w.nbytes:,} bytes into a full socket buffer; only"
            f" {n.procs(held)} {'hold' if len(held) > 1 else 'holds'} the other end, and {who}"
        )
    if w.kind is Kind.SOCKET_READ:
        held = [p.pid for p in socket_holders(snap, _peer(snap, w.pipe))]
        if held == [w.pid]:
            return (
                f"{me} is blocked in {w.what}, with nothing queued; only its own process holds the"
                " other end, and no other thread of it will send"
            )
        return f"{me} is blocked in {w.what}, with nothing queued; only {n.procs(held)} can send to it"
    if w.kind is Kind.EXIT:
        return f"{me} waits in {w.what} for {n.procs(list(w.targets))} to exit"
    timed = f" (for up to {w.timeout:g} s)" if w.timeout is not None else ""
    could = sorted({k[0] for k in w.wakers})
    if w.kind is Kind.POLL:
        it = "any of them" if "," in w.what else "it"
        if not could:
            return f"{me} waits in {w.what}{timed}, and no thread anywhere could make {it} ready"
        if could == [w.pid]:
            return (
                f"{me} waits in {w.what}{timed}; only other threads of its own process could make {it} ready"
            )
        return f"{me} waits in {w.what}{timed}; only {n.procs(could)} could make {it} ready"
    if w.kind is Kind.SHARED_FUTEX:
        if not could:
            return f"{me} waits on {w.what}{timed}, which no living process can post"
        return f"{me} waits on {w.what}{timed}, which only {n.procs(could)} can post"
    if not w.wakers:
        return f"{me} waits on {w.what}{timed}, and no other thread of its process can end that wait"
    if nxt is None or nxt == (w.pid, w.tid):
        return f"{me} waits on {w.what}{timed}, which only other threads of its process, all stuck, can end"
    return (
        f"{me} waits on {w.what}{timed}: only another thread of its process can end it, here {n.thread(nxt)}"
    )


def _peer(snap: Snapshot, inode: int) -> int:
    sock = snap.socket(inode)
    return sock.peer if sock else 0


def _fix(snap: Snapshot, knot: Knot) -> str:
    kinds = [knot.waits[t] for t in knot.cycle]
    if len([w for w in kinds if w.full]) == len(kinds) > 1:
        return FIX_BOTH_WAYS
    if any(w.kind is Kind.SOCKET_WRITE for w in kinds):
        return FIX_SOCKET_FULL
    writes = [w for w in kinds if w.kind is Kind.PIPE_WRITE]
    if writes:
        # The cycle starts at the end of any chain of writers: the pipe nobody reads.
        w = writes[0]
        writer = snap.proc(w.pid)
        joined = any(x.kind is Kind.FUTEX and x.pid == w.pid and x.tid != w.tid for x in kinds)
        waited_by_other = any(x.pid != w.pid for x in kinds)
        if joined and not waited_by_other:
            return FIX_THREAD
        if w.tid != w.pid and writer is not None and pyspy.is_python(writer):
            return FIX_QUEUE
        fd = writer.fd(_fd_of(writer, w)) if writer else None
        if writer is not None and (not pyspy.is_python(writer) or (fd is not None and fd.fd in (1, 2))):
            return FIX_POPEN
        return FIX_RAW_PIPE
    if any(w.kind is Kind.SOCKET_READ for w in kinds):
        return FIX_SOCKET_EMPTY
    if any(w.kind is Kind.PIPE_READ for w in kinds):
        return FIX_EMPTY
    if len(knot.cycle) == 1:
        return FIX_NOBODY
    return FIX_LOCKS


def _alarm(snap: Snapshot, pid: int) -> bool:
    """The process handles SIGALRM: an armed alarm (pytest-timeout's, say) can end its wait."""
    proc = snap.proc(pid)
    return proc is not None and bool(proc.caught >> (signal.SIGALRM - 1) & 1)


def _fd_of(proc: Process, w: Wait) -> int:
    th = next((t for t in proc.threads if t.tid == w.tid), None)
    return th.args[0] if th and th.args else -1


def _breaker(n: Namer, snap: Snapshot, knot: Knot) -> str:
    """For an open wait: what it depends on that can still act, from a blocked writer if any."""
    mine = {t: w for t, w in knot.waits.items() if t not in knot.ignore}
    blocked = [w for w in mine.values() if w.blocking]
    if not blocked:
        away = [w for w in mine.values() if w.outside]
        if not away:
            return ""
        w = min(away, key=lambda w: (w.pid, w.tid))
        return f"{n.who((w.pid, w.tid))} is {w.what}; only something outside the tree can end that wait"
    first = min(blocked, key=lambda w: (not w.full, w.pid, w.tid))
    if first.outside:
        return (
            f"{n.who((first.pid, first.tid))} waits in {first.what}, which something outside the tree can end"
        )
    seen, todo, live = set(), [(first.pid, first.tid)], []
    while todo:
        t = todo.pop(0)
        if t in seen:
            continue
        seen.add(t)
        if t in knot.ignore:
            continue
        seen_wait = knot.waits.get(t)
        if seen_wait is None or not seen_wait.blocking or seen_wait.outside:
            live.append(t)
            continue
        todo += sorted(seen_wait.wakers)
    said = [_open(n, knot.waits.get(t), t) for t in live[:4]]
    if len(live) > 4:
        said.append(f"{len(live) - 4} more")
    head = _step(n, snap, first, None)
    return f"{head}; but {'; '.join(said) or 'a thread that is not waiting can still act'}"


def _open(n: Namer, w: Wait | None, t: Tid) -> str:
    """One thing an open wait depends on, in words."""
    if w is None:
        return f"{n.proc(t[0])} was not observed"
    if w.outside and w.blocking:
        return f"{n.who(t)} waits in {w.what}, which something outside the tree can end"
    if w.outside:
        return f"{n.who(t)} is {w.what}"
    return f"{n.who(t)} is {w.what}, so it can still act"


def thread_rows(n: Namer, snap: Snapshot, knot: Knot, labels: Labels) -> tuple[ThreadInfo, ...]:
    rows = []
    for p in snap.procs:
        for th in p.threads:
            t = (p.pid, th.tid)
            w = knot.waits[t]
            _, role, frame = labels.get(t, (None, None, None))
            rows.append(
                ThreadInfo(
                    p.pid, th.tid, n.proc(p.pid), n.thread(t), th.state, syscalls.name(th.syscall),
                    th.wchan, w.kind.value, w.what, t in knot.stuck, w.timeout, role, frame,
                )
            )  # fmt: skip
    return tuple(rows)


def describe(
    snap: Snapshot,
    knot: Knot,
    root: int,
    *,
    proven: bool,
    samples: int,
    seconds: float,
    labels: Labels | None = None,
    departed: Sequence[causes.Departure] = (),
) -> Diagnosis:
    """The diagnosis of a snapshot and its analysis. ``proven``: seen twice, nothing moved.
    ``departed``: processes the watch saw leave the tree (for the words of a cause)."""
    labels = labels or {}
    n = Namer(snap, root, labels)
    cycle: tuple[str, ...] = ()
    behind: tuple[str, ...] = ()
    breaker = fix = cause = ""
    until = None
    if proven and knot.stuck:
        verdict = Verdict.STALLED if knot.through_pipe else Verdict.DEADLOCKED
        ring = knot.cycle
        cycle = tuple(_step(n, snap, knot.waits[t], ring[(i + 1) % len(ring)]) for i, t in enumerate(ring))
        behind = tuple(_step(n, snap, knot.waits[t], None) for t in knot.behind())
        until = knot.release
        fix = _fix(snap, knot)
        found = causes.find(snap, knot, labels, n.proc, departed)
        if found is not None:
            cause, fix = found.text, found.fix
        ends = f" until its timeout ends (within {until:g} s)" if until is not None else " for ever"
        alarmed = sorted({t[0] for t in knot.stuck if _alarm(snap, t[0])})
        if alarmed and until is None:
            ends += f" (or until an alarm signal: {n.procs(alarmed)} handle SIGALRM)"
        threads, procs = len(knot.stuck), len({t[0] for t in knot.stuck})
        if threads == 1:
            summary = f"a thread waits{ends} for a wake-up that no thread can give"
        else:
            summary = (
                f"{threads} threads in {procs} process{'es' if procs > 1 else ''} wait for each other in a"
                f" closed cycle{ends}; every thread that could break it is waiting on it"
            )
    elif any(w.blocking or w.outside for t, w in knot.waits.items() if t not in knot.ignore):
        verdict = Verdict.BLOCKED
        breaker = _breaker(n, snap, knot)
        summary = (
            "threads wait, but no closed wait-for cycle holds them: something that is not waiting"
            " on them can still end their waits"
        )
    else:
        verdict = Verdict.RUNNING
        summary = "no thread waits on another"
        if knot.waits and all(w.kind is Kind.GONE for w in knot.waits.values()):
            summary = "every process of the tree has exited: nothing waits any more"
    pipes = tuple(PipeInfo(p.inode, p.fill, p.capacity) for p in snap.pipes)
    stuck_pids = tuple(sorted({t[0] for t in knot.stuck})) if proven else ()
    rows = thread_rows(n, snap, knot, labels)
    writer = next((knot.waits[t] for t in knot.cycle if knot.waits[t].kind is Kind.PIPE_WRITE), None)
    full = next((p for p in pipes if writer and p.inode == writer.pipe), None) if proven else None
    return Diagnosis(
        verdict, root, summary, cycle, behind, breaker, until, fix, rows, pipes, stuck_pids,
        samples, round(seconds, 4), full_pipe=full, cycle_threads=knot.cycle if cycle else (), cause=cause,
    )  # fmt: skip
