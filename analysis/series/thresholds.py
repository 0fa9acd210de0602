"""The single-message threshold by pipe capacity, per interpreter and start method."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable, Sequence

from joinstall.analysis.records import Results, ThresholdRecord


def most_common(values: Iterable[int | None]) -> int | None:
    counts = collections.Counter(v for v in values if v is not None)
    return counts.most_common(1)[0][0] if counts else None


def threshold_at(thresholds: Sequence[ThresholdRecord], capacity: int | None) -> int | None:
    """The measured single-put threshold for this pipe capacity (the most frequent, if several)."""
    if capacity is None:
        return None
    return most_common(t.measured for t in thresholds if t.puts == 1 and t.capacity == capacity)


@dataclasses.dataclass(frozen=True)
class ThresholdGroup:
    """Single-put thresholds of one interpreter and start method, by pipe capacity."""

    label: str
    capacities: tuple[int, ...]
    measured: tuple[int | None, ...]
    predicted: tuple[int | None, ...]
    agree: tuple[bool, ...]
    #: What the pipe holds besides the payload (capacity - threshold): the length header and
    #: pickle's framing, measured and predicted.
    measured_overhead: tuple[int | None, ...]
    predicted_overhead: tuple[int | None, ...]


#: The x span of a figure with nothing to show: 4 KiB to 1 MiB pipes.
EMPTY_CAPACITIES = (4096, 1024**2)


@dataclasses.dataclass(frozen=True)
class ThresholdSeries:
    groups: tuple[ThresholdGroup, ...]
    #: The smallest and the largest capacity drawn: the x axis spans them.
    capacity_span: tuple[int, int] = EMPTY_CAPACITIES


def compute(results: Results) -> ThresholdSeries:
    by_group: dict[str, dict[int, ThresholdRecord]] = collections.defaultdict(dict)
    for t in results.thresholds:
        if t.puts == 1:
            # A later record for the same capacity (a rerun) replaces an earlier one.
            by_group[f"Python {t.python_version}, {t.start_method}"][t.capacity] = t

    groups = []
    for label, recs in sorted(by_group.items()):
        ordered = [recs[c] for c in sorted(recs)]
        # -1 (even an empty payload stalls) has no place on a log axis.
        measured = tuple(t.measured if t.measured is not None and t.measured >= 0 else None for t in ordered)
        predicted = tuple(t.predicted for t in ordered)
        groups.append(
            ThresholdGroup(
                label,
                tuple(t.capacity for t in ordered),
                measured,
                predicted,
                tuple(t.agree for t in ordered),
                _overhead(ordered, measured),
                _overhead(ordered, predicted),
            )
        )
    caps = [c for g in groups for c in g.capacities]
    return ThresholdSeries(tuple(groups), (min(caps), max(caps)) if caps else EMPTY_CAPACITIES)


def _overhead(records: Sequence[ThresholdRecord], values: Sequence[int | None]) -> tuple[int | None, ...]:
    return tuple(None if v is None else t.capacity - v for t, v in zip(records, values, strict=True))
