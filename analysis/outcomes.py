"""Variants x outcome: how often each verdict was reached, and whether that was expected."""

from __future__ import annotations

import collections
import dataclasses

from analysis.results import Results, RunRecord, ThresholdRecord
from analysis.series import queue_threshold_applies, threshold_at
from repro.variants import REGISTRY, Kind
from repro.verdict import Verdict

EXPECTATION = {
    Kind.BUG: "ok up to the threshold, stalled above it",
    Kind.FIX: "ok at every size",
    Kind.FALSE_FIX: "data loss above the threshold (a race below it: ok or data loss)",
    Kind.MITIGATION: "ok up to the larger pipe's threshold, stalled above it",
    Kind.SIBLING: "ok up to the threshold, stalled above it (in the child's subprocess or its queue)",
}


@dataclasses.dataclass(frozen=True)
class OutcomeRow:
    variant: str
    kind: str
    expectation: str
    counts: dict[Verdict, int]
    #: Runs whose verdict is one the registry allows for their size.
    as_expected: int
    #: Runs that could not be checked: no measured threshold for their pipe capacity.
    unchecked: int

    @property
    def runs(self) -> int:
        return sum(self.counts.values())

    @property
    def unexpected(self) -> int:
        return self.runs - self.as_expected - self.unchecked


def expected(run: RunRecord, thresholds: tuple[ThresholdRecord, ...]) -> frozenset[Verdict] | None:
    """The verdicts this run may reach, or None when that depends on a threshold nobody measured."""
    variant = REGISTRY.get(run.variant)
    if variant is None:
        return None
    stall_above = None
    if queue_threshold_applies(run.variant):
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
    order = list(REGISTRY)
    rows = []
    for name in sorted(by_variant, key=lambda n: (order.index(n) if n in order else len(order), n)):
        runs = by_variant[name]
        checks = [expected(r, results.thresholds) if r.puts == 1 else None for r in runs]
        kind = REGISTRY[name].kind if name in REGISTRY else None
        rows.append(
            OutcomeRow(
                variant=name,
                kind=kind.value if kind else "unknown variant",
                expectation=EXPECTATION[kind] if kind else "not in this version's registry",
                counts={v: sum(r.verdict is v for r in runs) for v in Verdict},
                as_expected=sum(c is not None and r.verdict in c for r, c in zip(runs, checks, strict=True)),
                unchecked=sum(c is None for c in checks),
            )
        )
    return tuple(rows)
