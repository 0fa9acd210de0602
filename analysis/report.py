"""A markdown report from results files: figures, variants x outcome, thresholds, a wait-for cycle.

Every file is written whole or not at all (a temporary file, then ``os.replace``), so a crash or
a full disk never leaves a half report that looks complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from joinstall import __version__
from joinstall.analysis import diagnosis, figures, sections
from joinstall.analysis.draw import timeouts as draw_timeouts
from joinstall.analysis.records import Results
from joinstall.analysis.series import timeouts as timeout_series
from joinstall.errors import ResultsError
from matplotlib.figure import Figure

REPORT_NAME = "report.md"


@dataclasses.dataclass(frozen=True)
class Report:
    path: Path
    figures: dict[str, Path]
    #: What the reader should know that is not an error (a missing fixed variant, torn lines).
    notes: tuple[str, ...]


def write(results: Results, directory: Path) -> Report:
    """Draw the figures the records allow and write ``directory/report.md`` next to them."""
    if results.empty:
        names = ", ".join(str(p) for p in results.sources)
        raise ResultsError(f"{names}: no records, only metadata; run `joinstall demo` to fill a results file")
    _prepare(directory)
    # The timeouts series is computed once: the figure draws it and the text quotes it.
    timeout_data = timeout_series.compute(results) if results.runs else None
    notes = _notes(results, timeout_data)
    drawn: dict[str, Figure] = {}
    if timeout_data is not None:
        drawn["timeouts"] = draw_timeouts.draw(timeout_data)
    if results.thresholds:
        drawn["thresholds"] = figures.thresholds(results)[0]
    if results.multiputs:
        drawn["multiput"] = figures.multiput(results)[0]
    if results.matrix:
        drawn["matrix"] = figures.matrix(results)[0]
    try:
        paths = {name: figures.save(fig, directory, name)[0] for name, fig in drawn.items()}
        path = directory / REPORT_NAME
        _atomic_write(path, render(results, paths, timeout_data, notes))
    except OSError as exc:
        raise ResultsError(
            f"cannot write the report into {directory}: {exc.strerror}; choose a writable -o folder"
        ) from None
    return Report(path, paths, tuple(notes))


def _prepare(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the report folder {directory}: {exc.strerror}; choose another -o"
        raise ResultsError(msg) from None
    if not os.access(directory, os.W_OK):
        raise ResultsError(f"the report folder {directory} is not writable; choose another -o")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        # A write that failed halfway leaves no temporary file behind.
        with contextlib.suppress(OSError):
            tmp.unlink()


def _notes(results: Results, timeout_data: timeout_series.TimeoutSeries | None) -> list[str]:
    notes = []
    if timeout_data is not None and not timeout_data.has_fixed:
        notes.append(
            "these results have no single-message runs of the fixed variant, so the timeouts figure"
            " cannot show the fix next to the bug; add `--variant fixed` runs to compare"
        )
    notes += [f"{p}: its last line was torn (a crash while writing) and was skipped" for p in results.torn]
    notes += version_notes(results)
    return notes


def version_notes(results: Results) -> list[str]:
    """A warning for each results file written by another joinstall than this one."""
    return [
        f"{path} was written by joinstall {meta.get('tool_version', '?')}, and this report by"
        f" joinstall {__version__}; measure again with this version if the two disagree"
        for path, meta in zip(results.sources, results.metas, strict=True)
        if meta.get("tool_version") != __version__
    ]


def render(
    results: Results,
    paths: Mapping[str, Path],
    timeout_data: timeout_series.TimeoutSeries | None,
    notes: list[str],
) -> str:
    parts = [
        sections.header(results, notes),
        sections.timeouts(timeout_data, paths),
        sections.outcome_table(results),
        sections.thresholds(results, paths),
        sections.multiput(results, paths),
        sections.matrix(results, paths),
        diagnosis.section(results.diagnoses),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"
