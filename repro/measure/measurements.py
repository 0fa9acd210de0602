"""Typed records of threshold and multi-put searches; each round-trips through JSON.

One dataclass per record kind, used by every writer (``threshold``, ``matrix``, the sweep's
multi-put map, the demo) and by every reader (``joinstall.analysis``): ``to_record`` writes
the line, ``from_record`` reads it back and refuses a line that lacks a field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from joinstall.errors import ResultsError
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
    """The largest single payload that does not stall, measured and predicted (also a matrix cell)."""

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
    """The smallest number of puts of one message size that stalls, measured and predicted.

    Written by ``joinstall threshold --message-size`` (a search: always exact) and by the
    sweep's multi-put map (the listed put counts, then a search between them).
    """

    variant: str
    message_size: int
    capacity: int
    #: The smallest number of puts that stalled; None when no count tried stalled.
    measured_puts: int | None
    #: The pipe model's count; None for a variant it does not model.
    predicted_puts: int | None
    #: None when it cannot be told (no prediction, or no count tried reaches it).
    agree: bool | None
    #: False when ``measured_puts - 1`` was not tried, so the measurement is an upper bound.
    exact: bool
    probes: int
    seconds: float
    python: str
    python_version: str
    start_method: str | None
    pipe_size: int
    mode: str = Mode.FAST.value
    search: str = "bisection"
    #: The put counts that were run (the map); empty for a search, whose trace says it.
    puts_tried: tuple[int, ...] = ()
    trace: tuple[Probe, ...] = ()

    @property
    def most_tried(self) -> int | None:
        """The most puts tried: with no stall, the count is above this."""
        return max(self.puts_tried, default=None)

    def key(self) -> str:
        return (
            f"multiput:{self.variant}:{self.python_version}:{self.start_method}:{self.capacity}"
            f":{self.message_size}:{self.mode}"
        )

    def to_record(self, key: str | None = None) -> dict[str, Any]:
        """The line; ``key`` overrides the default (the sweep's map resumes by its own keys)."""
        record = dataclasses.asdict(self)
        record["trace"] = [dataclasses.asdict(p) for p in self.trace]
        record["puts_tried"] = list(self.puts_tried)
        return {"kind": "multiput", "key": key or self.key(), **record}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> MultiputResult:
        fields = _fields(cls, data)
        fields["puts_tried"] = tuple(int(k) for k in fields.get("puts_tried", ()))
        return cls(**fields)


def _fields(cls: type[ThresholdResult | MultiputResult], data: Mapping[str, Any]) -> dict[str, Any]:
    """The dataclass fields found in ``data`` (``kind`` and ``key`` are the file's, not ours).

    A field without a default must be there: a record written by another version of the
    writer is refused here, not read through guesses.
    """
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in data]
    if missing:
        raise ResultsError(f"a {data.get('kind', '?')} record without {', '.join(missing)}")
    fields = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
    fields["trace"] = tuple(Probe(**p) for p in data.get("trace", ()))
    return fields
