"""Where the timeouts hit: when join returned against the payload size.

One panel per variant, forced pipe size and join timeout T: runs with different timeouts never
share a panel, since "join returned at T" means another time for each.
"""

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
    #: The join timeout T of every run in the panel; None in a panel without runs.
    timeout: float | None
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
    #: The results hold runs of several timeouts, so the title says which one this panel shows.
    names_timeout: bool = False

    @property
    def title(self) -> str:
        pipe = f", pipe set to {self.pipe_size:,} B" if self.pipe_size else ""
        t = f", T = {self.timeout:g} s" if self.names_timeout and self.timeout is not None else ""
        return f"{self.variant} [{self.kind}]{pipe}{t}"

    @property
    def marks(self) -> tuple[int, ...]:
        """The sizes marked by vertical lines: capacity, threshold, and a sibling's own switch."""
        switch = (self.switch.last_ok, self.switch.first_stalled) if self.switch else ()
        return tuple(v for v in (self.capacity, self.threshold, *switch) if v)


#: The x span of a figure with nothing to show: 1 KiB to 1 MiB payloads.
EMPTY_SIZES = (1024, 1024**2)


@dataclasses.dataclass(frozen=True)
class TimeoutSeries:
    panels: tuple[TimeoutPanel, ...]
    #: Multi-message runs are left out: their x axis would be a different quantity.
    multi_put_runs: int
    #: The smallest and the largest payload drawn or marked: every panel's x axis spans them.
    size_span: tuple[int, int] = EMPTY_SIZES

    @property
    def timeouts(self) -> tuple[float, ...]:
        """Every join timeout T in the figure, each drawn in panels of its own."""
        return tuple(sorted({p.timeout for p in self.panels if p.timeout is not None}))

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
    """Per variant, forced pipe size and join timeout: when join returned, against the payload size."""
    single = [r for r in results.runs if r.puts == 1]
    groups: dict[tuple[str, int, float | None], list[RunRecord]] = collections.defaultdict(list)
    for run in single:
        groups[(run.variant, run.pipe_size, run.timeout)].append(run)
    # Buggy and fixed always get a panel: the comparison is the point of the figure.
    for name in ("buggy", "fixed"):
        if not any(v == name for v, _, _ in groups):
            groups[(name, 0, None)] = []
    several = len({r.timeout for r in single}) > 1
    panels = []
    for (variant, pipe_size, timeout), runs in sorted(
        groups.items(), key=lambda kv: (registry.order(kv[0][0]), kv[0][1], kv[0][2] or 0.0)
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
                timeout=timeout,
                capacity=capacity,
                threshold=threshold_at(results.thresholds, capacity) if queue else None,
                without_time=len(runs) - len(points),
                note="" if runs else f"no single-message runs of the {variant} variant in these results",
                switch=switch(runs) if own else None,
                names_timeout=several,
            )
        )
    sizes = [p.size for panel in panels for p in panel.points] or list(EMPTY_SIZES)
    sizes += [v for panel in panels for v in panel.marks]
    return TimeoutSeries(tuple(panels), len(results.runs) - len(single), (min(sizes), max(sizes)))
