"""The threshold for every interpreter we can find and every start method it supports.

Each cell is a ``threshold.threshold`` measurement (real runs, proven stalls) next to the pipe
model's prediction. Cells run on a small thread pool: each probe is its own process group, so
threads only wait. Interpreters that cannot run the program are reported, not fatal
(``joinstall.measure.eligible``).

A matrix is planned first (``plan``: options checked, interpreters found, nothing run) and
measured afterwards (``measure``), so that a command can open its output file in between.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from joinstall import defaults, interpreters
from joinstall.errors import JoinstallError, PlatformError, UsageError
from joinstall.measure import threshold
from joinstall.measure.eligible import Skipped, candidates
from joinstall.measure.measurements import ThresholdResult
from joinstall.observe import pipes


@dataclasses.dataclass(frozen=True)
class CellError:
    """A cell whose measurement failed (the run ended in error, a probe was refused, ...)."""

    python: str
    python_version: str
    start_method: str
    error: str


@dataclasses.dataclass(frozen=True)
class Matrix:
    capacity: int
    puts: int
    cells: tuple[ThresholdResult, ...]
    errors: tuple[CellError, ...]
    skipped: tuple[Skipped, ...]
    seconds: float

    @property
    def agree(self) -> bool:
        """Every cell measured, and every measurement equals its prediction."""
        return not self.errors and all(c.agree for c in self.cells)

    def records(self) -> list[dict[str, Any]]:
        return [c.to_record("matrix") for c in self.cells]

    def to_dict(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "puts": self.puts,
            "agree": self.agree,
            "seconds": self.seconds,
            "cells": self.records(),
            "errors": [dataclasses.asdict(e) for e in self.errors],
            "skipped": [dataclasses.asdict(s) for s in self.skipped],
        }

    def table(self) -> str:
        """Interpreters down, start methods across; each cell: measured, and the prediction if it differs."""
        methods = sorted(
            {c.start_method for c in self.cells} | {e.start_method for e in self.errors},
            key=lambda m: ["fork", "spawn", "forkserver", m].index(m),
        )
        versions = sorted(
            {c.python_version for c in self.cells} | {e.python_version for e in self.errors},
            key=interpreters.version_tuple,
        )
        text: dict[tuple[str, str], str] = {}
        for c in self.cells:
            mark = "ok" if c.agree else f"!= predicted {c.predicted:,}"
            text[(c.python_version, c.start_method)] = f"{c.measured:,} {mark}"
        for e in self.errors:
            text[(e.python_version, e.start_method)] = "error"
        rows = [["interpreter", *methods]]
        rows += [[f"Python {v}", *(text.get((v, m), "-") for m in methods)] for v in versions]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            f"largest payload that does not stall (bytes), measured vs pipe model;"
            f" pipe {self.capacity:,} bytes, {self.puts} put{'s' if self.puts != 1 else ''}"
        ]
        lines += [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
        ]
        lines += [f"error: Python {e.python_version} ({e.start_method}): {e.error}" for e in self.errors]
        lines += [f"skipped: {s.path}: {s.reason}" for s in self.skipped]
        verdict = "every cell agrees with the model" if self.agree else "MISMATCH: see the cells above"
        lines.append(f"{verdict} ({len(self.cells)} cells in {self.seconds:.1f} s)")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Plan:
    """The cells of a matrix, found and checked before any of them runs."""

    capacity: int
    pipe_size: int
    puts: int
    jobs: int
    #: (interpreter, start method), in the order the table shows them.
    cells: tuple[tuple[interpreters.Interpreter, str], ...]
    skipped: tuple[Skipped, ...]


def plan(
    pythons: Sequence[str] | None = None,
    pipe_size: int = 0,
    puts: int = defaults.PUTS,
    jobs: int = defaults.JOBS,
    start_methods: Sequence[str] | None = None,
) -> Plan:
    """Check the options and find the cells: every interpreter (or the given ones) x method."""
    defaults.JOBS_BOUND.check(jobs)
    defaults.PUTS_BOUND.check(puts)
    capacity = pipes.capacity_for(pipe_size)
    found, skipped = candidates(pythons)
    known = {m for interp in found for m in interp.start_methods}
    unknown = sorted(set(start_methods or ()) - known)
    if found and unknown:
        raise UsageError(
            f"start method {', '.join(map(repr, unknown))} is not available here; choose from: {', '.join(sorted(known))}"
        )
    cells = tuple(
        (interp, method)
        for interp in found
        for method in interp.start_methods
        if not start_methods or method in start_methods
    )
    if not cells:
        why = "; ".join(f"{s.path}: {s.reason}" for s in skipped) or "none was found"
        raise PlatformError(f"no interpreter and start method to measure ({why})")
    return Plan(capacity, pipe_size, puts, jobs, cells, tuple(skipped))


def measure(p: Plan, on_cell: Callable[[ThresholdResult | CellError], None] | None = None) -> Matrix:
    """Measure every cell of the plan, ``p.jobs`` cells at a time."""
    start = time.monotonic()
    cells: list[ThresholdResult] = []
    errors: list[CellError] = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=p.jobs)
    futures = {pool.submit(threshold.threshold, i.path, m, p.pipe_size, p.puts): (i, m) for i, m in p.cells}
    try:
        for future in concurrent.futures.as_completed(futures):
            interp, method = futures[future]
            outcome: ThresholdResult | CellError
            try:
                outcome = future.result()
                cells.append(outcome)
            except JoinstallError as exc:
                outcome = CellError(interp.path, interp.version, method, exc.message())
                errors.append(outcome)
            if on_cell:
                on_cell(outcome)
    finally:
        # On Ctrl-C, start no further cell; the running ones reap their processes as they end.
        pool.shutdown(wait=True, cancel_futures=True)
    order = {(i.path, m): n for n, (i, m) in enumerate(p.cells)}
    cells.sort(key=lambda c: order[(c.python, c.start_method)])
    return Matrix(
        capacity=p.capacity,
        puts=p.puts,
        cells=tuple(cells),
        errors=tuple(errors),
        skipped=p.skipped,
        seconds=round(time.monotonic() - start, 3),
    )


def run(
    pythons: Sequence[str] | None = None,
    pipe_size: int = 0,
    puts: int = defaults.PUTS,
    jobs: int = defaults.JOBS,
    start_methods: Sequence[str] | None = None,
    on_cell: Callable[[ThresholdResult | CellError], None] | None = None,
) -> Matrix:
    """Plan and measure a matrix (see ``plan`` and ``measure``)."""
    return measure(plan(pythons, pipe_size, puts, jobs, start_methods), on_cell)
