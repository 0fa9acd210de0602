"""The threshold for every interpreter we can find and every start method it supports.

Each cell is a ``threshold.threshold`` measurement (real runs, proven stalls) next to the pipe
model's prediction. Cells run on a small thread pool: each probe is its own process group, so
threads only wait. Interpreters that cannot run the program are reported, not fatal.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

from repro import interpreters
from repro import threshold as th
from repro.errors import JoinstallError, PlatformError, UsageError

#: Why an interpreter older than the program's floor is skipped (the reason discover gives is
#: about versions; this one says what it means here).
TOO_OLD = "the target program runs on CPython 3.8 or newer"


@dataclasses.dataclass(frozen=True)
class Skipped:
    """An interpreter that was found but cannot take part, and why."""

    path: str
    reason: str


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
    cells: tuple[th.ThresholdResult, ...]
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
            key=lambda v: tuple(int(p) for p in v.split(".") if p.isdigit()),
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


def _version_of(path: str) -> str | None:
    """The bare version of an interpreter too old for the full probe (Python 2.7 has no
    ``get_all_start_methods``), so that a skip can say why in plain words."""
    try:
        out = subprocess.run(
            [path, "-c", "import platform; print(platform.python_version())"],
            capture_output=True, text=True, timeout=interpreters.PROBE_TIMEOUT, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def _too_old(version: str) -> bool:
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    return parts < (3, 8)


def _skip_reason(path: str, reason: str) -> str:
    if "older than" in reason:
        return f"{TOO_OLD} ({reason})"
    version = _version_of(path)
    if version and _too_old(version):
        return f"{TOO_OLD} (this is Python {version})"
    return reason


def candidates(pythons: Sequence[str] | None) -> tuple[list[interpreters.Interpreter], list[Skipped]]:
    """The interpreters to measure: the given ones, or every one ``discover()`` finds."""
    if not pythons:
        good, bad = interpreters.discover()
        return good, [Skipped(path, _skip_reason(path, reason)) for path, reason in sorted(bad.items())]
    found, skipped = [], []
    for path in pythons:
        try:
            interp = interpreters.probe(path)
        except UsageError as exc:
            skipped.append(Skipped(path, _skip_reason(path, str(exc))))
            continue
        if _too_old(interp.version):
            skipped.append(Skipped(path, f"{TOO_OLD} (this is Python {interp.version})"))
        else:
            found.append(interp)
    return found, skipped


def run(
    pythons: Sequence[str] | None = None,
    pipe_size: int = 0,
    puts: int = 1,
    jobs: int = 2,
    start_methods: Sequence[str] | None = None,
    on_cell: Callable[[th.ThresholdResult | CellError], None] | None = None,
) -> Matrix:
    """Measure every (interpreter, start method) cell with ``jobs`` cells at a time."""
    if jobs < 1:
        raise UsageError("-j/--jobs must be 1 or more")
    if puts < 1:
        raise UsageError("--puts must be 1 or more")
    capacity = th.check_pipe_size(pipe_size)
    start = time.monotonic()
    found, skipped = candidates(pythons)
    tasks = [
        (interp, method)
        for interp in found
        for method in interp.start_methods
        if not start_methods or method in start_methods
    ]
    if not tasks:
        why = "; ".join(f"{s.path}: {s.reason}" for s in skipped) or "none was found"
        raise PlatformError(f"no interpreter and start method to measure ({why})")
    cells: list[th.ThresholdResult] = []
    errors: list[CellError] = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    futures = {pool.submit(th.threshold, i.path, m, pipe_size, puts): (i, m) for i, m in tasks}
    try:
        for future in concurrent.futures.as_completed(futures):
            interp, method = futures[future]
            outcome: th.ThresholdResult | CellError
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
    order = {(i.path, m): n for n, (i, m) in enumerate(tasks)}
    cells.sort(key=lambda c: order[(c.python, c.start_method)])
    return Matrix(
        capacity=capacity,
        puts=puts,
        cells=tuple(cells),
        errors=tuple(errors),
        skipped=tuple(skipped),
        seconds=round(time.monotonic() - start, 3),
    )
