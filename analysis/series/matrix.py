"""Interpreter x start method: the measured threshold of each cell and whether it agrees."""

from __future__ import annotations

import collections
import dataclasses

from joinstall.analysis.records import Results, ThresholdRecord
from joinstall.interpreters import version_tuple

START_METHOD_ORDER = ("fork", "forkserver", "spawn", "default")


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


def _method_key(method: str) -> tuple[int, str]:
    order = START_METHOD_ORDER
    return (order.index(method), method) if method in order else (len(order), method)


def compute(results: Results) -> MatrixSeries:
    grouped: dict[tuple[str, str], list[ThresholdRecord]] = collections.defaultdict(list)
    for rec in results.matrix:
        grouped[(rec.python_version, rec.start_method)].append(rec)
    cells = {
        key: MatrixCell(recs[-1].measured, recs[-1].predicted, all(r.agree for r in recs), len(recs))
        for key, recs in grouped.items()
    }
    return MatrixSeries(
        # The full string breaks ties, so 3.13.0rc1 and 3.13.0 keep a stable order.
        tuple(sorted({k[0] for k in cells}, key=lambda v: (version_tuple(v), v))),
        tuple(sorted({k[1] for k in cells}, key=_method_key)),
        cells,
        tuple(sorted({r.capacity for r in results.matrix})),
    )
