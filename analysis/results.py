"""Load joinstall results files into typed records; anything malformed is a one-line ResultsError.

The writers of the record kinds evolve independently, so only the fields a figure or the report
cannot do without are required; everything else is optional and read defensively.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from joinstall import resultsfile
from joinstall.analysis.records import Diagnosis, MultiputRecord, Results, RunRecord, ThresholdRecord
from joinstall.errors import ResultsError
from joinstall.observe.verdict import Verdict

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
            if not isinstance(rec, dict):
                raise ResultsError(f"{where} is not a JSON object; this is not a joinstall results file")
            kind = rec.get("kind")
            if kind == "run":
                run = _parse(where, "run", rec, _run)
                runs.append(run)
                if run.diagnosis:
                    _add(diagnoses, _parse(where, "run diagnosis", run.diagnosis, _diagnosis))
            elif kind == "threshold":
                thresholds.append(_parse(where, kind, rec, _threshold))
            elif kind == "matrix":
                matrix.append(_parse(where, kind, rec, _threshold))
            elif kind == "multiput":
                multiputs.append(_parse(where, kind, rec, _multiput))
            elif kind == "spy" and rec.get("diagnosis"):
                _add(diagnoses, _parse(where, kind, rec["diagnosis"], _diagnosis))
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
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        what = f"field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ResultsError(
            f"{where}: a malformed {kind} record ({what}); rewrite the file with the joinstall that reads it"
        ) from None


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _run(rec: Mapping[str, Any]) -> RunRecord:
    result = rec["result"]
    spec, timings = result["spec"], result.get("timings") or {}
    evidence = result.get("evidence") or {}
    program = result.get("program_result") or {}
    capacity = evidence.get("capacity") or program.get("pipe_capacity")
    return RunRecord(
        variant=str(spec["variant"]),
        size=int(spec["size"]),
        puts=int(spec.get("puts", 1)),
        mode=str(spec.get("mode", "fast")),
        timeout=float(spec["timeout"]),
        pipe_size=int(spec.get("pipe_size", 0)),
        start_method=spec.get("start_method") or program.get("start_method"),
        python_version=str(result.get("python_version", "?")),
        verdict=Verdict(result["verdict"]),
        verdict_s=_opt_float(timings.get("verdict_s")),
        join_s=_opt_float(timings.get("join_s")),
        join_would_return_at=_opt_float(timings.get("join_would_return_at")),
        capacity=_opt_int(capacity),
        diagnosis=result.get("diagnosis"),
    )


def _threshold(rec: Mapping[str, Any]) -> ThresholdRecord:
    measured, predicted = _opt_int(rec.get("measured")), _opt_int(rec.get("predicted"))
    agree = rec.get("agree")
    return ThresholdRecord(
        python=str(rec.get("python", "?")),
        python_version=str(rec.get("python_version", "?")),
        start_method=str(rec.get("start_method") or "default"),
        pipe_size=int(rec.get("pipe_size") or 0),
        capacity=int(rec["capacity"]),
        puts=int(rec.get("puts") or 1),
        measured=measured,
        predicted=predicted,
        agree=bool(agree) if agree is not None else measured is not None and measured == predicted,
        probes=_opt_int(rec.get("probes")),
        seconds=_opt_float(rec.get("seconds")),
    )


def _multiput(rec: Mapping[str, Any]) -> MultiputRecord:
    agree = rec.get("agree")
    return MultiputRecord(
        variant=str(rec.get("variant") or "buggy"),
        message_size=int(rec["message_size"]),
        capacity=int(rec["capacity"]),
        measured_puts=_opt_int(rec.get("measured_puts")),
        predicted_puts=_opt_int(rec.get("predicted_puts")),
        agree=None if agree is None else bool(agree),
        exact=bool(rec.get("exact", True)),
        most_tried=max(map(int, rec["puts_tried"])) if rec.get("puts_tried") else None,
    )


def _diagnosis(data: Mapping[str, Any]) -> Diagnosis:
    if not isinstance(data, Mapping):
        raise TypeError("the diagnosis is not an object")
    stacks = data.get("stacks") or {}
    return Diagnosis(
        text=str(data.get("text") or ""),
        cycle_text=_opt_str(data.get("cycle_text")),
        stacks_text=_stacks_text(data.get("stacks_text")),
        stacks={str(k): v for k, v in dict(stacks).items()},
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _stacks_text(value: Any) -> str | None:
    """The engine's readable stacks as one text, whether it keeps one text or one per PID."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "\n\n".join(f"process {pid}:\n{str(text).rstrip()}" for pid, text in value.items())
    raise TypeError("stacks_text is neither a text nor an object of texts per process")
