"""Where the timeouts hit: when join returned against the payload size, one panel per variant."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

from joinstall.analysis import registry
from joinstall.analysis.records import Results, RunRecord
from joinstall.analysis.series.thresholds import most_common, threshold_at
from joinstall.observe.verdict import Verdict
from joinstall.variants import Kind


@dataclasses.dataclass(frozen=True)
class Point:
    size: int
    #: When join returned (measured), or would have (a fast-mode proven stall: the timeout T).
    seconds: float
    verdict: Verdict
    proven_only: bool
    #: An ok run of a false fix: drawn apart, it must not look like a fix.
    by_luck: bool = False


@dataclasses.dataclass(frozen=True)
class Switch:
    """Where a variant's own runs turn from ok to stalled (no threshold record measures it)."""

    last_ok: int
    first_stalled: int

    @property
    def exact(self) -> bool:
        return self.first_stalled == self.last_ok + 1


@dataclasses.dataclass(frozen=True)
class TimeoutPanel:
    variant: str
    pipe_size: int
    kind: str
    points: tuple[Point, ...]
    timeouts: tuple[float, ...]
    capacity: int | None
    #: Measured largest payload that does not stall at this capacity (a threshold record), for
    #: variants whose stall is the queue pipe's.
    threshold: int | None
    #: Runs that have no join time at all (errors without a RESULT line).
    without_time: int
    #: Why the panel is empty, shown in the figure instead of points.
    note: str = ""
    #: A sibling's own switch from ok to stalled, taken from its runs.
    switch: Switch | None = None

    @property
    def title(self) -> str:
        pipe = f", pipe set to {self.pipe_size:,} B" if self.pipe_size else ""
        return f"{self.variant} [{self.kind}]{pipe}"


@dataclasses.dataclass(frozen=True)
class TimeoutSeries:
    panels: tuple[TimeoutPanel, ...]
    #: Multi-message runs are left out: their x axis would be a different quantity.
    multi_put_runs: int

    @property
    def has_fixed(self) -> bool:
        return any(p.variant == "fixed" and p.points for p in self.panels)

    @property
    def by_luck(self) -> int:
        return sum(p.by_luck for panel in self.panels for p in panel.points)


def switch(runs: Sequence[RunRecord]) -> Switch | None:
    """The largest ok payload below the smallest stalled one, or None if the runs show no switch."""
    stalled = [r.size for r in runs if r.verdict is Verdict.STALLED]
    if not stalled:
        return None
    first = min(stalled)
    ok = [r.size for r in runs if r.verdict is Verdict.OK and r.size < first]
    return Switch(max(ok), first) if ok else None


def compute(results: Results) -> TimeoutSeries:
    """Per variant (and forced pipe size): when join returned, against the payload size."""
    single = [r for r in results.runs if r.puts == 1]
    groups: dict[tuple[str, int], list[RunRecord]] = collections.defaultdict(list)
    for run in single:
        groups[(run.variant, run.pipe_size)].append(run)
    # Buggy and fixed always get a panel: the comparison is the point of the figure.
    for name in ("buggy", "fixed"):
        if not any(v == name for v, _ in groups):
            groups[(name, 0)] = []
    panels = []
    for (variant, pipe_size), runs in sorted(
        groups.items(), key=lambda kv: (registry.order(kv[0][0]), kv[0][1])
    ):
        capacity = most_common(r.capacity for r in runs)
        points = tuple(
            Point(r.size, t, r.verdict, r.proven_only, registry.ok_by_luck(r.variant, r.verdict))
            for r in sorted(runs, key=lambda r: r.size)
            if (t := r.join_returns_at) is not None
        )
        queue = registry.queue_pipe_bounds(variant)
        # A sibling may stall in a pipe that no threshold record measures: its own runs tell.
        own = registry.kind(variant) is Kind.SIBLING
        panels.append(
            TimeoutPanel(
                variant=variant,
                pipe_size=pipe_size,
                kind=registry.kind_label(variant),
                points=points,
                timeouts=tuple(sorted({r.timeout for r in runs})),
                capacity=capacity,
                threshold=threshold_at(results.thresholds, capacity) if queue else None,
                without_time=len(runs) - len(points),
                note="" if runs else f"no single-message runs of the {variant} variant in these results",
                switch=switch(runs) if own else None,
            )
        )
    return TimeoutSeries(tuple(panels), len(results.runs) - len(single))
