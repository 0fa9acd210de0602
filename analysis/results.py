"""Load joinstall results files into typed records; anything malformed is a one-line ResultsError.

The writers of the record kinds evolve independently, so only the fields a figure or the report
cannot do without are required; everything else is optional and read defensively.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from repro import resultsfile
from repro.errors import ResultsError
from repro.verdict import Verdict

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One run of a program: what was asked, the verdict, and when join returned."""

    variant: str
    size: int
    puts: int
    mode: str
    timeout: float
    pipe_size: int
    start_method: str | None
    python_version: str
    verdict: Verdict
    verdict_s: float | None
    join_s: float | None
    join_would_return_at: float | None
    #: Bytes the queue's pipe holds (from the stall evidence or the program's own report).
    capacity: int | None
    diagnosis: Mapping[str, Any] | None

    @property
    def proven_only(self) -> bool:
        """A fast-mode stall: proven and stopped, so join's return time is T by inference."""
        return self.join_s is None and self.join_would_return_at is not None

    @property
    def join_returns_at(self) -> float | None:
        """Seconds until join returned (measured), or would have (fast-mode stall), or None."""
        return self.join_s if self.join_s is not None else self.join_would_return_at


@dataclasses.dataclass(frozen=True)
class ThresholdRecord:
    """The largest single payload that does not stall, measured and predicted (also a matrix cell)."""

    python: str
    python_version: str
    start_method: str
    pipe_size: int
    capacity: int
    puts: int
    #: -1 when even an empty payload stalls; None when the search did not finish.
    measured: int | None
    predicted: int | None
    agree: bool
    probes: int | None
    seconds: float | None


@dataclasses.dataclass(frozen=True)
class MultiputRecord:
    """The smallest number of puts of one message size that stalls, measured and predicted."""

    variant: str
    message_size: int
    capacity: int
    #: None when no number of puts tried stalled (a fix, or too few tried).
    measured_puts: int | None
    predicted_puts: int | None
    #: None when nothing was predicted for this variant.
    agree: bool | None
    #: False when ``measured_puts - 1`` was not tried, so the measurement is an upper bound.
    exact: bool
    #: The most puts tried (a sweep's map): with no stall, the count is above this.
    most_tried: int | None = None


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """A py-spy wait-for cycle: its text, the cycle's steps, and the stacks per process."""

    text: str
    cycle: tuple[Any, ...]
    stacks: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Results:
    sources: tuple[Path, ...]
    metas: tuple[Mapping[str, Any], ...]
    runs: tuple[RunRecord, ...]
    thresholds: tuple[ThresholdRecord, ...]
    multiputs: tuple[MultiputRecord, ...]
    matrix: tuple[ThresholdRecord, ...]
    diagnoses: tuple[Diagnosis, ...]
    #: Files whose last line was torn by a crash (it was skipped).
    torn: tuple[Path, ...]

    @property
    def empty(self) -> bool:
        return not (self.runs or self.thresholds or self.multiputs or self.matrix or self.diagnoses)


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
    except (KeyError, TypeError, ValueError) as exc:
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
    cycle, stacks = data.get("cycle") or (), data.get("stacks") or {}
    return Diagnosis(str(data.get("text", "")), tuple(cycle), {str(k): v for k, v in dict(stacks).items()})
