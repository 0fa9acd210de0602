"""Load joinstall results files into typed records; anything malformed is a one-line ResultsError.

Every record is read through the one dataclass its writers use (``joinstall.records``,
``joinstall.measure.measurements``): a line that lacks a field is refused, not guessed at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from joinstall import records, resultsfile
from joinstall.analysis.records import Diagnosis, MultiputRecord, Results, RunRecord, ThresholdRecord
from joinstall.errors import ResultsError

T = TypeVar("T")


def load(paths: Iterable[Path]) -> Results:
    """Read and validate every file; records of all files are pooled, in file order."""
    sources = tuple(Path(p) for p in paths)
    if not sources:
        raise ResultsError("no results files given; pass one or more .jsonl files")
    metas, torn = [], []
    runs: list[RunRecord] = []
    thresholds: list[ThresholdRecord] = []
    multiputs: list[MultiputRecord] = []
    matrix: list[ThresholdRecord] = []
    diagnoses: list[Diagnosis] = []
    for path in sources:
        meta, recs, was_torn = resultsfile.read(path)
        metas.append(meta)
        if was_torn:
            torn.append(path)
        # The metadata is line 1, so record i sits on line i + 2.
        for line, rec in enumerate(recs, 2):
            where = f"{path}:{line}"
            kind = rec.get("kind")
            if kind == "run":
                run = _parse(where, "run", rec, _run)
                runs.append(run)
                if run.diagnosis:
                    _add(diagnoses, run.diagnosis)
            elif kind == "threshold":
                thresholds.append(_parse(where, kind, rec, _threshold))
            elif kind == "matrix":
                matrix.append(_parse(where, kind, rec, _threshold))
            elif kind == "multiput":
                multiputs.append(_parse(where, kind, rec, _multiput))
            elif kind == "spy":
                _add(diagnoses, _parse(where, kind, rec, _spy))
            # Kinds this version does not know are skipped: newer writers may add some.
    return Results(
        sources, tuple(metas), tuple(runs), tuple(thresholds), tuple(multiputs), tuple(matrix),
        tuple(diagnoses), tuple(torn),
    )  # fmt: skip


def _add(diagnoses: list[Diagnosis], new: Diagnosis) -> None:
    # A spy record usually repeats the diagnosis of the run it was taken from: count it once.
    if new not in diagnoses:
        diagnoses.append(new)


def _parse(where: str, kind: str, rec: Mapping[str, Any], build: Callable[[Mapping[str, Any]], T]) -> T:
    try:
        return build(rec)
    except (KeyError, TypeError, ValueError, ArithmeticError, ResultsError) as exc:
        what = f"field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ResultsError(
            f"{where}: a malformed {kind} record ({what}); rewrite the file with the joinstall that reads it"
        ) from None


def _run(rec: Mapping[str, Any]) -> RunRecord:
    """The figures' view of one run, from the one run record every writer writes."""
    result = records.RunRecord.from_record(rec).result
    spec, timings, program = result.spec, result.timings, result.program_result or {}
    full = result.proof.full_pipe if result.proof else None
    capacity = full.capacity if full else program.get("pipe_capacity")
    return RunRecord(
        variant=spec.variant,
        size=spec.size,
        puts=spec.puts,
        mode=spec.mode.value,
        timeout=spec.timeout,
        pipe_size=spec.pipe_size,
        # None asked for the interpreter's default; the program says which one that was.
        start_method=spec.start_method or program.get("start_method"),
        python_version=result.python_version,
        verdict=result.verdict,
        verdict_s=timings.verdict_s,
        join_s=timings.join_s,
        join_would_return_at=timings.join_would_return_at,
        capacity=None if capacity is None else int(capacity),
        # Only a capture with stacks (run --spy, the demo) is a diagnosis worth a report section.
        diagnosis=result.proof if result.proof and result.proof.stacks else None,
    )


def _threshold(rec: Mapping[str, Any]) -> ThresholdRecord:
    return ThresholdRecord.from_record(rec)


def _multiput(rec: Mapping[str, Any]) -> MultiputRecord:
    return MultiputRecord.from_record(rec)


def _spy(rec: Mapping[str, Any]) -> Diagnosis:
    return records.SpyRecord.from_record(rec).diagnosis
