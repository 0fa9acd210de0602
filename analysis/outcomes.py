"""Variants x outcome: how often each verdict was reached, and whether that was expected.

A false fix that ended ok is counted on its own (``by_luck``): the registry allows it below the
threshold (a race), but it is neither a fix nor "as expected" in any reassuring sense.
"""

from __future__ import annotations

import collections
import dataclasses

from joinstall.analysis import registry
from joinstall.analysis.records import Results, RunRecord, ThresholdRecord
from joinstall.analysis.series.thresholds import threshold_at
from joinstall.observe.verdict import Verdict
from joinstall.variants import REGISTRY, Kind

EXPECTATION = {
    Kind.BUG: "ok up to the threshold, stalled above it",
    Kind.FIX: "ok at every size",
    Kind.FALSE_FIX: "data loss above the threshold; below it a race: data loss, or ok by luck",
    Kind.MITIGATION: "ok up to the larger pipe's threshold, stalled above it",
    Kind.SIBLING: "ok while the subprocess's raw output fits its stdout pipe, stalled above it",
}


@dataclasses.dataclass(frozen=True)
class OutcomeRow:
    variant: str
    kind: str
    expectation: str
    counts: dict[Verdict, int]
    #: Runs whose verdict is one the registry allows for their size (ok-by-luck runs excluded).
    as_expected: int
    #: Runs that could not be checked: no measured threshold for their pipe capacity.
    unchecked: int
    #: Runs of a false fix that ended ok: the data arrived this time, but can be lost.
    by_luck: int = 0

    @property
    def runs(self) -> int:
        return sum(self.counts.values())

    @property
    def checked(self) -> int:
        """Runs whose verdict was compared with the registry's expectation."""
        return self.runs - self.unchecked - self.by_luck

    @property
    def unexpected(self) -> int:
        return self.checked - self.as_expected


def expected(
    run: RunRecord, thresholds: tuple[ThresholdRecord, ...], default_capacity: int | None = None
) -> frozenset[Verdict] | None:
    """The verdicts this run may reach, or None when that depends on a threshold nobody measured."""
    variant = REGISTRY.get(run.variant)
    if variant is None:
        return None
    if variant.kind is Kind.SIBLING:
        # Its stall is in the subprocess's stdout pipe: raw bytes, no framing, a fresh pipe
        # of the kernel's default capacity (the parent reads its queue first).
        return None if default_capacity is None else variant.expected(run.size, default_capacity)
    stall_above = None
    if registry.queue_pipe_bounds(run.variant):
        stall_above = threshold_at(thresholds, run.capacity)
        if stall_above is None and variant.kind is not Kind.FIX:
            return None
    return variant.expected(run.size, stall_above)


def outcomes(results: Results) -> tuple[OutcomeRow, ...]:
    """One row per variant, in registry order. Multi-message runs are counted but left unchecked:
    the threshold records are for one message."""
    by_variant: dict[str, list[RunRecord]] = collections.defaultdict(list)
    for run in results.runs:
        by_variant[run.variant].append(run)
    default = next((m.get("pipe_capacity") for m in results.metas if m.get("pipe_capacity")), None)
    rows = []
    for name in sorted(by_variant, key=registry.order):
        runs = by_variant[name]
        lucky = [registry.ok_by_luck(r.variant, r.verdict) for r in runs]
        checks = [
            expected(r, results.thresholds, default) if r.puts == 1 and not luck else None
            for r, luck in zip(runs, lucky, strict=True)
        ]
        kind = registry.kind(name)
        rows.append(
            OutcomeRow(
                variant=name,
                kind=registry.kind_label(name),
                expectation=EXPECTATION[kind] if kind else "not in this version's registry",
                counts={v: sum(r.verdict is v for r in runs) for v in Verdict},
                as_expected=sum(c is not None and r.verdict in c for r, c in zip(runs, checks, strict=True)),
                unchecked=sum(c is None and not luck for c, luck in zip(checks, lucky, strict=True)),
                by_luck=sum(lucky),
            )
        )
    return tuple(rows)
