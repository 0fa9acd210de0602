"""Puts until the stall per message size, with the page-slot and byte-count models beside them."""

from __future__ import annotations

import collections
import dataclasses
import sys

from joinstall.analysis import registry
from joinstall.analysis.records import MultiputRecord, Results
from joinstall.model import pipemodel

#: Message sizes at which the models are evaluated: dense enough that every step shows.
MODEL_POINTS = 160
#: The x span of a figure with nothing to show.
EMPTY_SIZES = (64, 65536)


@dataclasses.dataclass(frozen=True)
class ModelCurve:
    """Both models on a dense grid of message sizes, so the page-slot steps show between points."""

    capacity: int
    sizes: tuple[int, ...]
    #: The page-slot model (``joinstall.model.pipemodel``): the put at which the feeder blocks.
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
    #: The page size the pipe counts its slots in (from the results' metadata).
    page_size: int = pipemodel.PAGE_SIZE
    #: The smallest and the largest message size drawn: the x axis spans them.
    size_span: tuple[int, int] = EMPTY_SIZES


def compute(results: Results) -> MultiputSeries:
    by_curve: dict[tuple[str, int], dict[int, MultiputRecord]] = collections.defaultdict(dict)
    drawable = [m for m in results.multiputs if m.measured_puts is not None or m.predicted_puts is not None]
    for m in drawable:
        by_curve[(m.variant, m.capacity)][m.message_size] = m
    curves = []
    for (variant, capacity), recs in sorted(
        by_curve.items(), key=lambda kv: (registry.order(kv[0][0]), kv[0][1])
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
    page = int(results.meta("page_size") or pipemodel.PAGE_SIZE)
    models = []
    if drawable:
        lo, hi = min(m.message_size for m in drawable), max(m.message_size for m in drawable)
        models = [
            model_curve(max(lo, 1), max(hi, lo + 1), c, page) for c in sorted({m.capacity for m in drawable})
        ]
    sizes = [s for c in curves for s in c.message_sizes]
    span = (min(sizes), max(sizes)) if sizes else EMPTY_SIZES
    return MultiputSeries(tuple(curves), tuple(models), len(results.multiputs) - len(drawable), page, span)
