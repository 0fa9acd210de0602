"""Typed records that round-trip through JSON: what was asked (RunSpec) and what happened."""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Mapping
from typing import Any

from joinstall import defaults
from joinstall.engine.diagnosis import Diagnosis
from joinstall.observe.verdict import Verdict


class Mode(str, enum.Enum):
    #: Stop as soon as the stall is proven; join would have returned only at the timeout.
    FAST = "fast"
    #: Let the program's own join(T) run out, and measure it.
    FAITHFUL = "faithful"


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a target program. ``start_method=None`` means the interpreter's default."""

    variant: str = "buggy"
    size: int = defaults.SIZE
    timeout: float = defaults.TIMEOUT
    start_method: str | None = None
    shell: str = defaults.SHELL
    puts: int = defaults.PUTS
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
    #: The engine's proof of the hang (``stalled``), with py-spy stacks when the spec asked for them.
    proof: Diagnosis | None
    program_result: dict[str, Any] | None
    timings: Timings
    pids: dict[str, int]
    output: tuple[str, ...]
    stderr: str
    exit_code: int | None

    @property
    def proven(self) -> bool:
        return self.proof is not None

    def to_dict(self) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "proof"}
        plain: dict[str, Any] = _plain({k: _asdict(v) for k, v in fields.items()})
        plain["proof"] = self.proof.to_dict() if self.proof else None
        return plain

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        proof = data.get("proof")
        return cls(
            spec=RunSpec.from_dict(data["spec"]),
            python_version=data["python_version"],
            verdict=Verdict(data["verdict"]),
            explanation=data["explanation"],
            proof=Diagnosis.from_dict(proof) if proof else None,
            program_result=data.get("program_result"),
            timings=Timings(**data["timings"]),
            pids=dict(data["pids"]),
            output=tuple(data["output"]),
            stderr=data["stderr"],
            exit_code=data["exit_code"],
        )


def _asdict(value: Any) -> Any:
    return (
        dataclasses.asdict(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type)
        else value
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


#: The results-file schema: every writer stamps it in the metadata line, every reader checks it.
#: 2: one shape per record kind (``RunRecord``, ``SpyRecord``, ``measure.measurements``).
SCHEMA = 2


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """A ``run`` line: one RunResult under the key a resumed sweep skips."""

    key: str
    result: RunResult

    def to_record(self) -> dict[str, Any]:
        return {"kind": "run", "key": self.key, "result": self.result.to_dict()}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> RunRecord:
        return cls(key=str(data["key"]), result=RunResult.from_dict(data["result"]))


@dataclasses.dataclass(frozen=True)
class SpyRecord:
    """A ``spy`` line: the engine's diagnosis of a hung tree (``Diagnosis.to_dict``)."""

    key: str
    diagnosis: Diagnosis

    def to_record(self) -> dict[str, Any]:
        return {"kind": "spy", "key": self.key, "diagnosis": self.diagnosis.to_dict()}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> SpyRecord:
        diagnosis = data["diagnosis"]
        if not isinstance(diagnosis, Mapping):
            raise TypeError("the diagnosis is not an object")
        # The key only matters to a writer that resumes; a spy line may come without one.
        return cls(key=str(data.get("key", "")), diagnosis=Diagnosis.from_dict(diagnosis))
