"""Typed records of threshold and multi-put searches; each round-trips through JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from joinstall.records import Mode


@dataclasses.dataclass(frozen=True)
class Probe:
    """One run of a search: ``size`` bytes as ``puts`` messages, and whether it stalled."""

    size: int
    puts: int
    stalled: bool
    seconds: float
    capacity: int | None


@dataclasses.dataclass(frozen=True)
class ThresholdResult:
    python: str
    python_version: str
    start_method: str
    pipe_size: int
    capacity: int
    puts: int
    #: The largest payload that did not stall (-1: even an empty payload stalls).
    measured: int
    predicted: int
    agree: bool
    probes: int
    seconds: float
    mode: str = Mode.FAST.value
    #: "bracket" when the prediction and its successor settled it, else "bisection".
    search: str = "bisection"
    trace: tuple[Probe, ...] = ()

    def to_record(self, kind: str = "threshold") -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record["trace"] = [dataclasses.asdict(p) for p in self.trace]
        key = f"{kind}:{self.python_version}:{self.start_method}:{self.capacity}:{self.puts}:{self.mode}"
        return {"kind": kind, "key": key, **record}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> ThresholdResult:
        return cls(**_fields(cls, data))


@dataclasses.dataclass(frozen=True)
class MultiputResult:
    message_size: int
    capacity: int
    #: The smallest number of puts of ``message_size`` bytes each that stalled (always probed).
    measured_puts: int
    predicted_puts: int
    agree: bool
    probes: int
    seconds: float
    python: str = ""
    python_version: str = ""
    start_method: str = ""
    pipe_size: int = 0
    mode: str = Mode.FAST.value
    search: str = "bisection"
    trace: tuple[Probe, ...] = ()

    def to_record(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record["trace"] = [dataclasses.asdict(p) for p in self.trace]
        key = (
            f"multiput:{self.python_version}:{self.start_method}:{self.capacity}"
            f":{self.message_size}:{self.mode}"
        )
        return {"kind": "multiput", "key": key, **record}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> MultiputResult:
        return cls(**_fields(cls, data))


def _fields(cls: type[ThresholdResult | MultiputResult], data: Mapping[str, Any]) -> dict[str, Any]:
    """The dataclass fields found in ``data`` (``kind`` and ``key`` are the file's, not ours)."""
    fields = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
    fields["trace"] = tuple(Probe(**p) for p in data.get("trace", ()))
    return fields
