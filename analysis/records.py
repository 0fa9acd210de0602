"""The typed records a results file holds, as the figures and the report read them.

A run is flattened into the facts the figures use (``RunRecord``); thresholds and multi-put
counts are the very records their writers write (``joinstall.measure.measurements``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from joinstall.engine.diagnosis import Diagnosis as EngineDiagnosis
from joinstall.measure.measurements import MultiputResult, ThresholdResult
from joinstall.observe.verdict import Verdict


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
    #: Bytes the queue's pipe holds (from the stall's proof or the program's own report).
    capacity: int | None
    #: The proof of a stall with py-spy's stacks (``run --spy``, the demo), else None.
    diagnosis: EngineDiagnosis | None

    @property
    def proven_only(self) -> bool:
        """A fast-mode stall: proven and stopped, so join's return time is T by inference."""
        return self.join_s is None and self.join_would_return_at is not None

    @property
    def join_returns_at(self) -> float | None:
        """Seconds until join returned (measured), or would have (fast-mode stall), or None."""
        return self.join_s if self.join_s is not None else self.join_would_return_at


#: Threshold searches and matrix cells, and multi-put counts: the writers' own records.
ThresholdRecord = ThresholdResult
MultiputRecord = MultiputResult


#: A diagnosis is the engine's own typed record: the report shows its words, never re-derives them.
Diagnosis = EngineDiagnosis


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

    def meta(self, key: str) -> Any:
        """The first metadata value for ``key`` across the files (page size, pipe capacity), or None."""
        return next((m[key] for m in self.metas if m.get(key)), None)
