"""What a verdict rests on, kept so that it can be computed again later, anywhere.

A proof is two samples of a tree that agree (no thread of the knot moved between them) and a
scan of the whole machine that found no outside holder of the knot's pipes or semaphores. The
samples replay: ``analyse`` is a pure function of them and of the watcher's settings. The scan
cannot (it read every process of the machine), so its outcome is recorded in ``proven``. py-spy's
thread names are recorded too: they name threads in the words, and py-spy may be absent later.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from joinstall.engine import graph, waits, words
from joinstall.engine.causes import Departure
from joinstall.engine.diagnosis import Diagnosis
from joinstall.engine.graph import Knot
from joinstall.engine.snapshot import Snapshot
from joinstall.engine.waits import Tid


def moved(before: Snapshot, after: Snapshot) -> set[Tid]:
    """Threads of ``after`` that are new, or whose wait or counters differ from ``before``."""
    old = {(p.pid, t.tid): t.signature() for p in before.procs for t in p.threads}
    return {
        (p.pid, t.tid) for p in after.procs for t in p.threads if old.get((p.pid, t.tid)) != t.signature()
    }


@dataclasses.dataclass(frozen=True)
class Evidence:
    """The samples of a diagnosis and how they were read; ``describe()`` gives its Diagnosis."""

    #: The first sample of the proof; None for a one-sample view (nothing was compared).
    before: Snapshot | None
    #: The sample the verdict speaks of.
    after: Snapshot
    root: int
    #: The watcher's settings (see ``waits``): a shorter timed wait is a polling loop; handled
    #: signals whose senders the caller accounts for.
    min_timed: float
    known_signals: frozenset[int]
    #: Bystander threads that can wake nobody (a watcher's own thread in the watched process).
    ignore: frozenset[Tid]
    #: The watcher proved it: two samples agreed, and no process outside held the knot.
    proven: bool
    samples: int
    seconds: float
    #: py-spy's name, role and innermost frame of each thread it saw (``capture_stacks``).
    labels: words.Labels = dataclasses.field(default_factory=dict)
    #: Where the samples were taken (kernel, pipe sizes, each process's executable), as
    #: ``saved`` records it; empty until then.
    machine: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Processes the watch saw leave the tree (a Pool's worker that died: named in the cause).
    departed: tuple[Departure, ...] = ()

    def analyse(self) -> Knot:
        """The wait-for graph's stuck set and cycle, from the samples alone."""
        live = moved(self.before, self.after) if self.before is not None else set()
        found = waits.waits(self.after, self.min_timed, self.known_signals)
        return graph.analyse(found, live=live, ignore=self.ignore)

    def describe(
        self, *, stacks: Mapping[str, str] | None = None, missing: tuple[str, ...] = ()
    ) -> Diagnosis:
        """The Diagnosis of these samples, in words; ``stacks``/``missing`` as py-spy left them."""
        knot = self.analyse()
        found = words.describe(
            self.after, knot, self.root, proven=self.proven and bool(knot.stuck), samples=self.samples,
            seconds=self.seconds, labels=self.labels, departed=self.departed,
        )  # fmt: skip
        return dataclasses.replace(found, stacks=dict(stacks or {}), missing=tuple(missing), evidence=self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the snapshots through ``Snapshot.to_dict``, so every field of theirs travels."""
        return {
            "before": self.before.to_dict() if self.before is not None else None,
            "after": self.after.to_dict(),
            "root": self.root,
            "min_timed": self.min_timed,
            "known_signals": sorted(self.known_signals),
            "ignore": [list(t) for t in sorted(self.ignore)],
            "proven": self.proven,
            "samples": self.samples,
            "seconds": self.seconds,
            "labels": [[*t, *label] for t, label in sorted(self.labels.items())],
            "departed": [dataclasses.asdict(d) for d in self.departed],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], machine: Mapping[str, Any] | None = None) -> Evidence:
        """Rebuild what ``to_dict`` wrote (KeyError, TypeError or ValueError if it is damaged)."""
        before = data["before"]
        return cls(
            before=Snapshot.from_dict(before) if before is not None else None,
            after=Snapshot.from_dict(data["after"]),
            root=int(data["root"]),
            min_timed=float(data["min_timed"]),
            known_signals=frozenset(int(s) for s in data["known_signals"]),
            ignore=frozenset((int(p), int(t)) for p, t in data["ignore"]),
            proven=bool(data["proven"]),
            samples=int(data["samples"]),
            seconds=float(data["seconds"]),
            labels={(int(p), int(t)): (name, role, frame) for p, t, name, role, frame in data["labels"]},
            machine=dict(machine or {}),
            departed=tuple(Departure(**d) for d in data.get("departed", ())),
        )
