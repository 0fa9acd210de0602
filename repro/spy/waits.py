"""Who waits for whom, read from one /proc snapshot and sharpened by py-spy's labels.

* exits: ``wait4``/``waitid`` name the pid they wait for; ``join`` polls the child's
  *sentinel*, a pipe whose read end the waiter holds and whose write end only the child
  holds, so EOF on it means "exited";
* threads: a child's main thread at exit joins its queue feeder (py-spy shows
  ``_finalize_join``; /proc alone shows a futex wait beside a thread blocked writing);
* writes: a thread asleep in ``write()`` on a pipe (the verdict's own ``blocked_writes``);
* drains: the processes holding that pipe's read end.

Everything here is pure, so recorded snapshots test it without processes. Without py-spy the
graph still closes from /proc alone, but two edges are then inferences (``confirmed=False``).
"""

from __future__ import annotations

from collections.abc import Mapping

from joinstall.observe import syscalls
from joinstall.observe.procfs import ProcState, Snapshot, ThreadState
from joinstall.observe.verdict import blocked_writes
from joinstall.spy.graph import Edge, Graph, Kind, PipeNode, ThreadNode
from joinstall.spy.labels import FEEDERS, Classified, Label, Labels
from joinstall.spy.roles import roles

#: Calls a join() sleeps in: poll on the sentinel. A poll with a timeout that a ptrace attach
#: (py-spy's) interrupted continues as restart_syscall: after one dump, join's poll shows as that.
POLLS = frozenset({"poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "restart_syscall"})
WAITS = frozenset({"wait4", "waitid"})
#: (pid, tid) -> the inode of the pipe that thread sleeps writing into.
Writing = Mapping[tuple[int, int], int]


def _signed32(value: int) -> int:
    """A pid_t argument as the kernel shows it: -1 appears as 0xffffffff."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _descendants(snap: Snapshot, pid: int) -> list[ProcState]:
    kids = [p for p in snap.procs if p.ppid == pid]
    return kids + [d for k in kids for d in _descendants(snap, k.pid)]


def sentinels(snap: Snapshot, proc: ProcState) -> dict[int, int]:
    """Pipes ``proc`` could be waiting on for an exit: {inode: the only process holding the write end}.

    ``Process.sentinel`` is the read end of a pipe whose write end only the child holds; when
    the child exits the write end closes, and ``join``'s poll sees EOF. With forkserver the
    write end is the forkserver's, which writes the child's exit status into it.
    """
    out = {}
    mine_w = {e.inode for e in proc.pipes if e.writable}
    for inode in sorted({e.inode for e in proc.pipes if not e.writable} - mine_w):
        holders = {p.pid for p in snap.procs for e in p.pipes if e.inode == inode and e.writable}
        if len(holders) == 1:
            out[inode] = holders.pop()
    return out


def _exit_targets(
    snap: Snapshot, proc: ProcState, th: ThreadState, label: Classified | None, role: Mapping[int, str]
) -> list[tuple[int, str, bool]]:
    """Processes this thread waits to exit: [(pid, basis, confirmed)]."""
    call = syscalls.name(th.syscall)
    if call in WAITS and th.args:
        # wait4(pid, ...) / waitid(idtype, id, ...): P_ALL is 0, P_PID is 1.
        if call == "wait4":
            target = _signed32(th.args[0])
        else:
            target = _signed32(th.args[1]) if th.args[0] == 1 else -1
        kids = [p.pid for p in snap.procs if p.ppid == proc.pid]
        pids = [target] if target > 0 else kids
        how = f"{call}({target})" + (" for any child" if target <= 0 else "")
        return [(pid, f"/proc: {how}", True) for pid in pids]
    joining = label is not None and label.label is Label.JOIN
    # A poll is read as a join only when py-spy cannot tell: with a label, the label decides.
    if not joining and (label is not None or call not in POLLS):
        return []
    spy = f"py-spy: {label.frame.where()}" if joining and label and label.frame else ""
    out = []
    for inode, holder in sentinels(snap, proc).items():
        if role.get(holder) == "forkserver":
            # The forkserver holds every child's status pipe: the one we wait for is its child.
            for kid in (p for p in snap.procs if p.ppid == holder and role.get(p.pid) == "child"):
                basis = f"/proc: {call} + sentinel pipe:[{inode}] written by forkserver {holder}"
                out.append((kid.pid, "; ".join(filter(None, [spy, basis])), joining))
        elif holder != proc.pid and any(p.pid == holder and p.ppid == proc.pid for p in snap.procs):
            basis = f"/proc: {call} + sentinel pipe:[{inode}], write end held only by {holder}"
            out.append((holder, "; ".join(filter(None, [spy, basis])), joining))
    if not out and joining:
        # No sentinel pipe seen: take the descendants py-spy or the command line call children.
        for kid in _descendants(snap, proc.pid):
            if role.get(kid.pid) == "child":
                out.append((kid.pid, f"{spy}; child found among the descendants", True))
    return out


def build(snap: Snapshot, labels: Labels | None = None, parent: int | None = None) -> Graph:
    """The wait-for graph of one snapshot. ``labels`` are py-spy's, keyed by (pid, tid)."""
    labels = dict(labels or {})
    role = roles(snap, parent, labels)
    writing = {(p.pid, th.tid): inode for p, th, inode in blocked_writes(snap)}
    edges: list[Edge] = []
    for proc in snap.procs:
        for th in proc.threads:
            me = ThreadNode(proc.pid, th.tid)
            label = labels.get((proc.pid, th.tid))
            inode = writing.get((proc.pid, th.tid))
            if inode is not None:
                spy = f"; py-spy: {label.frame.where()}" if label and label.frame else ""
                basis = f"/proc: write(fd {th.args[0]}) [wchan {th.wchan or '?'}]{spy}"
                nbytes = th.args[2] if len(th.args) > 2 else 0
                edges.append(Edge(Kind.WRITES, me, PipeNode(inode), basis, True, nbytes))
                continue
            for pid, basis, confirmed in _exit_targets(snap, proc, th, label, role):
                edges.append(Edge(Kind.WAITS_EXIT, me, ThreadNode(pid, pid), basis, confirmed))
            edges += _joins(proc, th, label, labels, writing)
            edges += _data_waits(snap, proc, th, label)
    for inode in dict.fromkeys(writing.values()):
        edges += _drains(snap, inode, writing)
    return Graph(snap, tuple(edges), labels, role)


def _data_waits(snap: Snapshot, proc: ProcState, th: ThreadState, label: Classified | None) -> list[Edge]:
    """A thread py-spy shows reading (``Queue.get``, ``recv``) waits for whoever else can write.

    Only with py-spy: /proc alone cannot tell a read-wait in poll() from join()'s poll.
    """
    if label is None or label.label is not Label.READ:
        return []
    reading = {e.inode for e in proc.pipes if not e.writable}
    senders = sorted(
        {p.pid for p in snap.procs if p.pid != proc.pid for e in p.pipes if e.writable and e.inode in reading}
    )
    where = f"py-spy: {label.frame.where()}" if label.frame else "py-spy: reading"
    return [
        Edge(
            Kind.WAITS_DATA,
            ThreadNode(proc.pid, th.tid),
            ThreadNode(pid, pid),
            f"{where}; /proc: fd table",
            True,
        )
        for pid in senders
    ]


def _joins(
    proc: ProcState, th: ThreadState, label: Classified | None, labels: Labels, writing: Writing
) -> list[Edge]:
    me = ThreadNode(proc.pid, th.tid)
    others = [t for t in proc.threads if t.tid != th.tid]
    if label is not None and label.label is Label.EXIT_WAIT:
        feeders = [t for t in others if (c := labels.get((proc.pid, t.tid))) and c.label in FEEDERS]
        where = label.frame.where() if label.frame else "exit"
        return [
            Edge(Kind.JOINS_THREAD, me, ThreadNode(proc.pid, t.tid), f"py-spy: {where}", True)
            for t in feeders
        ]
    if label is None and th.tid == proc.pid and syscalls.name(th.syscall) == "futex":
        # Only /proc: a main thread in a futex wait while another thread of its process is
        # blocked writing a pipe is, in this program, joining that thread at exit.
        return [
            Edge(
                Kind.JOINS_THREAD,
                me,
                ThreadNode(proc.pid, t.tid),
                f"/proc: futex wait, and thread {t.tid} is blocked writing (inferred: py-spy would confirm)",
                False,
            )
            for t in others
            if (proc.pid, t.tid) in writing
        ]
    return []


def _drains(snap: Snapshot, inode: int, writing: Writing) -> list[Edge]:
    """pipe -> every thread of every process holding its read end.

    A writer's own process usually holds the read end too (a Queue keeps both); when somebody
    else also holds it, the edges go to the others, since the writer's process never reads its
    own queue: its threads are the ones waiting.
    """
    readers = [p for p in snap.procs if any(e.inode == inode and not e.writable for e in p.pipes)]
    blocked_writers = {pid for (pid, _), i in writing.items() if i == inode}
    others = [p for p in readers if p.pid not in blocked_writers]
    chosen = others or readers
    held = sorted(p.pid for p in readers if p not in chosen)
    extra = (
        f"; also held by {', '.join(map(str, held))}, whose threads are blocked writing it" if held else ""
    )
    return [
        Edge(Kind.DRAINED_BY, PipeNode(inode), ThreadNode(p.pid, th.tid), f"/proc: fd table{extra}", True)
        for p in chosen
        for th in p.threads
    ]
