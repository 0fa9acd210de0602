"""Sample a process tree from outside until a stall is proven: the steps the proof needs, in order.

Shared by everything that watches a tree: the harness's run loop and ``joinstall spy --pid``. Cheap checks run until some thread sleeps in
write(); only then are full snapshots taken and handed to the pure verdict.
"""

from __future__ import annotations

import collections

from joinstall.observe import procfs
from joinstall.observe.verdict import StallEvidence, prove_stall

#: Between full snapshots, the process tree is re-walked every this many samples.
TREE_EVERY = 4
#: Snapshots kept: a proof needs only the last window's worth.
KEEP = 200


class Sampler:
    """The state of one watch: the tree, the recent snapshots, and the evidence once proven."""

    def __init__(self) -> None:
        self.snaps: collections.deque[procfs.Snapshot] = collections.deque(maxlen=KEEP)
        self.tree: list[int] = []
        self.samples = 0
        self.evidence: StallEvidence | None = None
        #: Pipes that a process outside the tree can read: a stall on them is never proven.
        self.drained_elsewhere: set[int] = set()

    def sample(self, root: int, window: float) -> StallEvidence | None:
        """One observation of the tree under ``root``, full only while some thread sleeps in write().

        A full snapshot (tree walk, fd tables, pipe fill) costs far more than checking the
        known threads' syscalls. No proof can start without a blocked write, so the cheap
        check gates the full one, and the tree is re-walked every few samples to catch new
        processes. Returns the evidence once the stall is proven (and from then on).
        """
        if self.evidence is not None:
            return self.evidence
        self.samples += 1
        if not self.tree or self.samples % TREE_EVERY == 0:
            self.tree = procfs.tree(root)
        if not procfs.any_blocked_write(self.tree):
            # A proof needs consecutive samples of the same blocked write: start again.
            self.snaps.clear()
            return None
        self.tree = procfs.tree(root)
        self.snaps.append(procfs.snapshot(self.tree))
        evidence = prove_stall(self.snaps, window)
        if evidence is None or evidence.pipe_inode in self.drained_elsewhere:
            return None
        if procfs.read_end_holders(evidence.pipe_inode) - set(self.tree):
            # Someone outside the tree can read this pipe: nothing is proven.
            self.drained_elsewhere.add(evidence.pipe_inode)
            return None
        self.evidence = evidence
        return evidence
