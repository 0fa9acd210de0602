"""Watch a process tree until a hang is proven: sample, analyse, and sample again to confirm.

A proof takes two samples. Each thread of the knot must show, in both, the same wait and the
same counters (context switches, CPU time): a thread that woke in between, even for a moment,
moved, and the knot is recomputed with it live. Reads of one sample all come before reads of
the next, so there is an instant between them at which every thread of the knot was asleep in
the wait the second sample shows: that is the moment the proof speaks of. Before a proof is
accepted, every process on the machine outside the tree is checked for an end of the knot's
pipes or a mapping of its semaphores; one that holds any joins the tree and the proof waits
for the next pair of samples.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterable

from joinstall.engine import graph, snapshot, waits
from joinstall.engine.departures import Departures
from joinstall.engine.diagnosis import Diagnosis
from joinstall.engine.evidence import Evidence, moved
from joinstall.engine.graph import Knot
from joinstall.engine.snapshot import Snapshot
from joinstall.engine.waits import Tid

PROC = snapshot.PROC
#: The tree is re-walked every this many samples while nothing waits (new children).
TREE_EVERY = 8


def _ppids() -> dict[int, int]:
    """pid -> ppid of every process on the machine (one read of each ``/proc/PID/stat``).

    Why raw ``os.read``: on a machine with thousands of processes this loop is most of what a
    diagnosis costs, and unbuffered reads of bytes take half the time of text files.
    """
    out = {}
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        try:
            fd = os.open(f"{PROC}/{name}/stat", os.O_RDONLY)
            try:
                data = os.read(fd, 512)
            finally:
                os.close(fd)
            out[int(name)] = int(data.rpartition(b")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return out


def tree(root: int) -> list[int]:
    """The root and all its living descendants, parents first (empty if the root is gone).

    Read from each thread's ``children`` file: a few reads per process of the tree, however many
    processes the machine runs (2,000 unrelated ones cost the machine-wide scan ~30 ms). Where the
    kernel has no such file (built without CONFIG_PROC_CHILDREN), every process's ppid instead.
    """
    out: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop(0)
        try:
            tids = os.listdir(f"{PROC}/{pid}/task")
        except OSError:  # gone meanwhile (or the root never was)
            continue
        kids: set[int] = set()
        for tid in tids:
            try:
                with open(f"{PROC}/{pid}/task/{tid}/children", "rb") as f:
                    kids.update(int(c) for c in f.read().split())
            except FileNotFoundError:
                if not os.path.exists(f"{PROC}/{pid}/task/{tid}"):
                    continue  # the thread exited
                return _tree_by_ppid(root)  # no children files on this kernel
            except OSError:
                continue
        out.append(pid)
        todo += sorted(kids)
    return out


def _tree_by_ppid(root: int) -> list[int]:
    ppids = _ppids()
    if root not in ppids:
        return []
    kids: dict[int, list[int]] = {}
    for pid, ppid in ppids.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo += sorted(kids.get(pid, ()))
    return out


def outside_holders(snap: Snapshot, knot: Knot) -> set[int]:
    """Processes outside the snapshot that hold an end of the knot's pipes, the peer of one of its
    sockets or one of its eventfds, or map its semaphores."""
    stuck = [(p, th) for p in snap.procs for th in p.threads if (p.pid, th.tid) in knot.stuck]
    inodes = {w.pipe for t, w in knot.waits.items() if t in knot.stuck and w.pipe}
    for p, th in stuck:
        inodes |= {
            e.inode for fd, _ in th.fds if (e := p.fd(fd)) is not None and e.kind in ("pipe", "socket")
        }
    # A socket waits for its peer: the peer's holders are the ones to look for.
    inodes |= {s.peer for i in inodes if (s := snap.socket(i)) is not None and s.peer}
    events = {e.detail for p, th in stuck for fd, _ in th.fds if (e := p.fd(fd)) and e.kind == "eventfd"}
    keys = {th.shared for _, th in stuck if th.shared}
    links = {f"pipe:[{i}]" for i in inodes} | {f"socket:[{i}]" for i in inodes}
    known = {p.pid for p in snap.procs}
    me = os.getpid()
    names = [n for n in os.listdir(PROC) if n.isdigit() and int(n) not in known and int(n) != me]

    def holds(name: str) -> bool:
        return (bool(links or events) and _holds_any(name, links, events)) or bool(
            keys and set(snapshot.shared_maps(int(name))) & keys
        )

    return {int(n) for n in names if holds(n)}


def _holds_any(pid: str, links: set[str], events: set[int]) -> bool:
    """Whether the process holds one of these files (by link), or an eventfd of these ids."""
    try:
        dfd = os.open(f"{PROC}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fds = os.listdir(dfd)  # ENOENT once the process has exited since the open
        for fd in fds:
            try:
                target = os.readlink(fd, dir_fd=dfd)
            except OSError:
                continue
            if target in links:
                return True
            if events and target == "anon_inode:[eventfd]":
                # An eventfd whose id the kernel does not tell (0) may be any of them.
                found = snapshot.fd_detail(int(pid), int(fd), "eventfd")
                if not found or found in events or 0 in events:
                    return True
        return False
    except OSError:
        return False
    finally:
        os.close(dfd)


class Watcher:
    """Incremental: call ``step()`` at an interval; it returns a Diagnosis once a hang is proven.

    ``ignore_tids``: kernel thread ids of bystanders that can never break a cycle (a watcher's
    own thread inside the watched process). ``extra_pids``: processes to watch beside the tree.
    ``min_timed``, ``known_signals``: see ``waits``. ``stalls_only``: the caller wants only a ``stalled``
    verdict (a cycle through a full pipe), so while no thread of the tree sleeps in ``write()``
    a cheap read of the threads' syscalls stands in for the full sample.
    """

    def __init__(
        self,
        root: int,
        *,
        ignore_tids: Collection[int] = (),
        extra_pids: Iterable[int] = (),
        min_timed: float = waits.MIN_TIMED,
        known_signals: Collection[int] = (),
        stalls_only: bool = False,
    ) -> None:
        self.root = root
        self.min_timed = min_timed
        self.known_signals = frozenset(known_signals)
        self.stalls_only = stalls_only
        self.ignore_tids = frozenset(ignore_tids)
        self.extra = set(extra_pids)
        self.samples = 0
        self.start = time.monotonic()
        self.tree: list[int] = []
        self.prev: tuple[Snapshot, Knot] | None = None
        self.latest: tuple[Snapshot, Knot] | None = None
        self.proof: Diagnosis | None = None
        self.departures = Departures()

    def _ignore(self, snap: Snapshot) -> set[Tid]:
        return {(p.pid, t.tid) for p in snap.procs for t in p.threads if t.tid in self.ignore_tids}

    def _analyse(self, snap: Snapshot, live: Collection[Tid] = ()) -> Knot:
        return graph.analyse(
            waits.waits(snap, self.min_timed, self.known_signals), live=live, ignore=self._ignore(snap)
        )

    def step(self) -> Diagnosis | None:
        """One sample; the proven Diagnosis once a hang is proven (and from then on), else None."""
        if self.proof is not None:
            return self.proof
        self.samples += 1
        candidate = self.prev is not None and bool(self.prev[1].stuck)
        walked = not self.tree or (not candidate and self.samples % TREE_EVERY == 0)
        if walked:
            self.tree = tree(self.root)
        if self.stalls_only and not snapshot.any_write(self.tree):
            # No stall without a blocked write in both samples of its proof: start again.
            self.prev = None
            return None
        snap = snapshot.take([*self.tree, *sorted(self.extra)])
        self.departures.observe(snap)
        knot = self._analyse(snap)
        self.latest = (snap, knot)
        if not knot.stuck:
            self.prev = (snap, knot)
            return None
        if not candidate:
            # The first sight of a knot: make sure the next sample sees the whole tree. Walked in
            # this very step or not: a walk just before the sample may have missed a child forked
            # in between (a helper that will send the signal the knot waits for).
            self.tree = tree(self.root)
            self.prev = (snap, knot)
            return None
        assert self.prev is not None
        before = self.prev[0]
        confirmed = self._analyse(snap, live=moved(before, snap))
        self.prev = (snap, knot)
        if not confirmed.stuck:
            return None
        outsiders = outside_holders(snap, confirmed)
        if outsiders:
            # Whoever else holds the knot's pipes is part of the graph: watch it, prove again.
            self.extra |= outsiders
            self.prev = None
            return None
        self.latest = (snap, confirmed)
        self.proof = self._evidence(before, snap, proven=True).describe()
        return self.proof

    def _evidence(self, before: Snapshot | None, after: Snapshot, *, proven: bool) -> Evidence:
        return Evidence(
            before, after, self.root, self.min_timed, self.known_signals, frozenset(self._ignore(after)),
            proven=proven, samples=self.samples, seconds=time.monotonic() - self.start,
            departed=tuple(self.departures.gone),
        )  # fmt: skip

    def last(self) -> Diagnosis:
        """The diagnosis of the latest sample: the proof if there is one, else blocked or running."""
        if self.proof is None and self.latest is None:
            self.step()
        if self.proof is not None:
            return self.proof
        assert self.latest is not None  # step() always leaves a sample or a proof
        # One sample, nothing compared: a view of what waits, never a proof.
        return self._evidence(None, self.latest[0], proven=False).describe()

    @property
    def gone(self) -> bool:
        """The root has exited (and been reaped): there is nothing left to watch."""
        return self.latest is not None and not any(p.pid == self.root for p in self.latest[0].procs)
