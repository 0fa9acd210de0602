"""Compute what the figures plot: plain numbers from records, no drawing and no processes.

Each figure in ``analysis.figures`` draws exactly one of these series, and returns it, so tests
can compare what is on the axes with what was computed.
"""

from __future__ import annotations

import collections
import dataclasses
import sys
from collections.abc import Iterable, Sequence

from analysis.results import MultiputRecord, Results, RunRecord, ThresholdRecord
from repro import pipemodel
from repro.variants import REGISTRY
from repro.verdict import Verdict

#: Message sizes at which the models are evaluated: dense enough that every step shows.
MODEL_POINTS = 160
START_METHOD_ORDER = ("fork", "forkserver", "spawn", "default")


@dataclasses.dataclass(frozen=True)
class Point:
    size: int
    #: When join returned (measured), or would have (a fast-mode proven stall: the timeout T).
    seconds: float
    verdict: Verdict
    proven_only: bool


@dataclasses.dataclass(frozen=True)
class TimeoutPanel:
    variant: str
    pipe_size: int
    kind: str
    points: tuple[Point, ...]
    timeouts: tuple[float, ...]
    capacity: int | None
    #: Measured largest payload that does not stall at this capacity (a threshold record).
    threshold: int | None
    #: Runs that have no join time at all (errors without a RESULT line).
    without_time: int
    #: Why the panel is empty, shown in the figure instead of points.
    note: str = ""

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


def _most_common(values: Iterable[int | None]) -> int | None:
    counts = collections.Counter(v for v in values if v is not None)
    return counts.most_common(1)[0][0] if counts else None


def _variant_order(name: str) -> tuple[int, str]:
    names = list(REGISTRY)
    return (names.index(name), name) if name in names else (len(names), name)


def _kind(variant: str) -> str:
    return REGISTRY[variant].kind.value if variant in REGISTRY else "unknown variant"


def queue_threshold_applies(variant: str) -> bool:
    """Whether the queue pipe's threshold bounds this variant (no pipe that fills: it cannot).

    popen_wait's own stdout pipe holds 65,536 bytes, more than the queue pipe takes after
    framing, so the queue's threshold is the one that bites there too (measured: 65,514 ok,
    65,515 stalls).
    """
    v = REGISTRY.get(variant)
    return v is not None and v.pipe_bytes is not None


def threshold_at(thresholds: Sequence[ThresholdRecord], capacity: int | None) -> int | None:
    """The measured single-put threshold for this pipe capacity (the most frequent, if several)."""
    if capacity is None:
        return None
    return _most_common(t.measured for t in thresholds if t.puts == 1 and t.capacity == capacity)


def timeouts(results: Results) -> TimeoutSeries:
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
        groups.items(), key=lambda kv: (_variant_order(kv[0][0]), kv[0][1])
    ):
        capacity = _most_common(r.capacity for r in runs)
        points = tuple(
            Point(r.size, t, r.verdict, r.proven_only)
            for r in sorted(runs, key=lambda r: r.size)
            if (t := r.join_returns_at) is not None
        )
        note = "" if runs else f"no single-message runs of the {variant} variant in these results"
        panels.append(
            TimeoutPanel(
                variant=variant,
                pipe_size=pipe_size,
                kind=_kind(variant),
                points=points,
                timeouts=tuple(sorted({r.timeout for r in runs})),
                capacity=capacity,
                threshold=threshold_at(results.thresholds, capacity)
                if queue_threshold_applies(variant)
                else None,
                without_time=len(runs) - len(points),
                note=note,
            )
        )
    return TimeoutSeries(tuple(panels), len(results.runs) - len(single))


@dataclasses.dataclass(frozen=True)
class ThresholdGroup:
    """Single-put thresholds of one interpreter and start method, by pipe capacity."""

    label: str
    capacities: tuple[int, ...]
    measured: tuple[int | None, ...]
    predicted: tuple[int | None, ...]
    agree: tuple[bool, ...]


@dataclasses.dataclass(frozen=True)
class ThresholdSeries:
    groups: tuple[ThresholdGroup, ...]


def thresholds(results: Results) -> ThresholdSeries:
    by_group: dict[str, dict[int, ThresholdRecord]] = collections.defaultdict(dict)
    for t in results.thresholds:
        if t.puts == 1:
            # A later record for the same capacity (a rerun) replaces an earlier one.
            by_group[f"Python {t.python_version}, {t.start_method}"][t.capacity] = t

    groups = []
    for label, recs in sorted(by_group.items()):
        ordered = [recs[c] for c in sorted(recs)]
        groups.append(
            ThresholdGroup(
                label,
                tuple(t.capacity for t in ordered),
                # -1 (even an empty payload stalls) has no place on a log axis.
                tuple(t.measured if t.measured is not None and t.measured >= 0 else None for t in ordered),
                tuple(t.predicted for t in ordered),
                tuple(t.agree for t in ordered),
            )
        )
    return ThresholdSeries(tuple(groups))


@dataclasses.dataclass(frozen=True)
class ModelCurve:
    """Both models on a dense grid of message sizes, so the page-slot steps show between points."""

    capacity: int
    sizes: tuple[int, ...]
    #: The page-slot model (``repro.pipemodel``): the put at which the feeder blocks.
    slot_puts: tuple[int, ...]
    #: If the pipe counted bytes: capacity // wire bytes per message + 1.
    byte_puts: tuple[int, ...]


def model_curve(lo: int, hi: int, capacity: int, page_size: int) -> ModelCurve:
    """Pickled lengths come from this interpreter, in this process (nothing is run)."""
    python = sys.executable
    sizes = sorted({round(lo * (hi / lo) ** (i / (MODEL_POINTS - 1))) for i in range(MODEL_POINTS)})
    wire = [sum(pipemodel.frame(pipemodel.pickled_length(python, m))) for m in sizes]
    return ModelCurve(
        capacity,
        tuple(sizes),
        tuple(pipemodel.predict_puts(python, m, capacity, page_size) for m in sizes),
        tuple(capacity // w + 1 for w in wire),
    )


@dataclasses.dataclass(frozen=True)
class MultiputCurve:
    """The measurements of one variant through one pipe capacity."""

    variant: str
    capacity: int
    message_sizes: tuple[int, ...]
    measured: tuple[int | None, ...]
    #: The prediction stored with each measurement (for the interpreter that was measured).
    predicted: tuple[int | None, ...]
    #: None where nothing was predicted (the point is drawn as measured only).
    agree: tuple[bool | None, ...]
    exact: tuple[bool, ...]
    #: Where nothing stalled: the most puts tried (the count is above it), else None.
    no_stall_up_to: tuple[int | None, ...]


@dataclasses.dataclass(frozen=True)
class MultiputSeries:
    curves: tuple[MultiputCurve, ...]
    models: tuple[ModelCurve, ...]
    #: Records with neither a measured nor a predicted count (a fix never stalls): not drawn.
    without_stall: int


def multiput(results: Results) -> MultiputSeries:
    by_curve: dict[tuple[str, int], dict[int, MultiputRecord]] = collections.defaultdict(dict)
    drawable = [m for m in results.multiputs if m.measured_puts is not None or m.predicted_puts is not None]
    for m in drawable:
        by_curve[(m.variant, m.capacity)][m.message_size] = m
    curves = []
    for (variant, capacity), recs in sorted(
        by_curve.items(), key=lambda kv: (_variant_order(kv[0][0]), kv[0][1])
    ):
        ordered = [recs[s] for s in sorted(recs)]
        curves.append(
            MultiputCurve(
                variant,
                capacity,
                tuple(m.message_size for m in ordered),
                tuple(m.measured_puts for m in ordered),
                tuple(m.predicted_puts for m in ordered),
                tuple(m.agree for m in ordered),
                tuple(m.exact for m in ordered),
                tuple(m.most_tried if m.measured_puts is None else None for m in ordered),
            )
        )
    models = []
    if drawable:
        lo, hi = min(m.message_size for m in drawable), max(m.message_size for m in drawable)
        page = next((int(m["page_size"]) for m in results.metas if m.get("page_size")), pipemodel.PAGE_SIZE)
        models = [
            model_curve(max(lo, 1), max(hi, lo + 1), c, page) for c in sorted({m.capacity for m in drawable})
        ]
    return MultiputSeries(tuple(curves), tuple(models), len(results.multiputs) - len(drawable))


@dataclasses.dataclass(frozen=True)
class MatrixCell:
    measured: int | None
    predicted: int | None
    agree: bool
    #: More than one record for this cell (several capacities or reruns): all must agree.
    records: int


@dataclasses.dataclass(frozen=True)
class MatrixSeries:
    interpreters: tuple[str, ...]
    start_methods: tuple[str, ...]
    #: Keyed by (interpreter, start method); a missing key is a combination that was not run.
    cells: dict[tuple[str, str], MatrixCell]
    #: The pipe capacities the cells were measured at.
    capacities: tuple[int, ...] = ()


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def _method_key(method: str) -> tuple[int, str]:
    order = START_METHOD_ORDER
    return (order.index(method), method) if method in order else (len(order), method)


def matrix(results: Results) -> MatrixSeries:
    grouped: dict[tuple[str, str], list[ThresholdRecord]] = collections.defaultdict(list)
    for rec in results.matrix:
        grouped[(rec.python_version, rec.start_method)].append(rec)
    cells = {
        key: MatrixCell(recs[-1].measured, recs[-1].predicted, all(r.agree for r in recs), len(recs))
        for key, recs in grouped.items()
    }
    return MatrixSeries(
        tuple(sorted({k[0] for k in cells}, key=_version_key)),
        tuple(sorted({k[1] for k in cells}, key=_method_key)),
        cells,
        tuple(sorted({r.capacity for r in results.matrix})),
    )
