"""Typed records that round-trip through JSON: what was asked (RunSpec) and what happened."""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Mapping
from typing import Any

from joinstall.observe.verdict import StallEvidence, Verdict


class Mode(str, enum.Enum):
    #: Stop as soon as the stall is proven; join would have returned only at the timeout.
    FAST = "fast"
    #: Let the program's own join(T) run out, and measure it.
    FAITHFUL = "faithful"


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a target program. ``start_method=None`` means the interpreter's default."""

    variant: str = "buggy"
    size: int = 1024 * 1024
    timeout: float = 10.0
    start_method: str | None = None
    shell: str = "/bin/sh"
    puts: int = 1
    pipe_size: int = 0
    python: str = sys.executable
    mode: Mode = Mode.FAST
    spy: bool = False
    #: py-spy options for the capture: native frames, and each frame's local variables.
    spy_native: bool = False
    spy_locals: bool = False
    program: str = "seed"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        return cls(**{**data, "mode": Mode(data.get("mode", "fast"))})


@dataclasses.dataclass(frozen=True)
class Timings:
    #: From starting the program until the verdict was known.
    verdict_s: float
    #: From starting the program until every process of it was reaped.
    wall_s: float
    #: How long the program's own join() took (None when the run was stopped first).
    join_s: float | None
    #: In fast mode, a stalled join would have returned only after this many seconds.
    join_would_return_at: float | None


@dataclasses.dataclass(frozen=True)
class RunResult:
    spec: RunSpec
    python_version: str
    verdict: Verdict
    explanation: str
    evidence: StallEvidence | None
    program_result: dict[str, Any] | None
    timings: Timings
    pids: dict[str, int]
    output: tuple[str, ...]
    stderr: str
    exit_code: int | None
    diagnosis: dict[str, Any] | None = None

    @property
    def proven(self) -> bool:
        return self.evidence is not None

    def to_dict(self) -> dict[str, Any]:
        plain: dict[str, Any] = _plain(dataclasses.asdict(self))
        return plain

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        ev = data.get("evidence")
        return cls(
            spec=RunSpec.from_dict(data["spec"]),
            python_version=data["python_version"],
            verdict=Verdict(data["verdict"]),
            explanation=data["explanation"],
            evidence=StallEvidence.from_dict(ev) if ev else None,
            program_result=data.get("program_result"),
            timings=Timings(**data["timings"]),
            pids=dict(data["pids"]),
            output=tuple(data["output"]),
            stderr=data["stderr"],
            exit_code=data["exit_code"],
            diagnosis=data.get("diagnosis"),
        )


def _plain(value: Any) -> Any:
    """Enums to their values and tuples to lists, so that json.dumps takes the record."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
