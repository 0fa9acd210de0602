"""Measure, byte for byte, the largest payload that does not stall, and compare it with the model.

Each probe is one real run of the program (``harness.run``). In the default fast mode a probe
counts as a stall when the harness *proves* it from /proc (a writer asleep on a full pipe that
nobody reads), so a stalling probe costs about as much as one that joins at once. The
timeout-based mode lets the program's own ``join(T)`` run out instead and calls a probe stalled
when the child is still alive after it: the way one would find the threshold without /proc.

The search assumes a monotone answer (a bigger payload never fits where a smaller one did
not); the pipe model's tests check that assumption against a scan of every size.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from repro import harness, interpreters, pipemodel
from repro.errors import PlatformError, UsageError
from repro.programs import seed
from repro.records import Mode, RunResult, RunSpec
from repro.verdict import Verdict

MIN_PIPE = 4096
MAX_PIPE = 1024 * 1024
#: The program's join timeout in fast mode: a stall is proven long before; this only bounds a
#: run whose stall the harness could not prove (then join's own timeout decides).
FAST_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Probe:
    """One run of the search: ``size`` bytes as ``puts`` messages, and whether it stalled."""

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
        fields = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        fields["trace"] = tuple(Probe(**p) for p in data.get("trace", ()))
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class MultiputResult:
    message_size: int
    capacity: int
    #: The smallest number of puts of ``message_size`` bytes each that stalled.
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
        fields = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        fields["trace"] = tuple(Probe(**p) for p in data.get("trace", ()))
        return cls(**fields)


# --- the search, pure: it only calls `stalls` -----------------------------------------------


def search(
    stalls: Callable[[int], bool], fits_at: int, stalls_at: int, guess: int | None = None
) -> tuple[int, str]:
    """The largest n in [fits_at, stalls_at) for which ``stalls(n)`` is False.

    ``fits_at`` is known (or taken) not to stall and ``stalls_at`` to stall; neither is
    probed. With a ``guess``, ``guess`` and ``guess + 1`` are probed first: when the guess is
    right that settles it in two probes. Whatever they show narrows the bisection that
    follows, if one is still needed. Returns (n, "bracket" | "bisection").
    """
    if stalls_at <= fits_at:
        raise ValueError("the stalling bound must lie above the fitting one")
    a, b = fits_at, stalls_at
    if guess is not None:
        for n in (guess, guess + 1):
            if a < n < b:
                if stalls(n):
                    b = n
                    break
                a = n
        if b - a == 1:
            return a, "bracket"
    while b - a > 1:
        mid = (a + b) // 2
        if stalls(mid):
            b = mid
        else:
            a = mid
    return a, "bisection"


# --- probes: real runs ------------------------------------------------------------------------


def check_pipe_size(pipe_size: int) -> int:
    """The capacity a queue pipe gets for ``pipe_size`` (0: the kernel's default)."""
    if pipe_size == 0:
        return pipemodel.default_capacity()
    if not MIN_PIPE <= pipe_size <= MAX_PIPE:
        raise UsageError(
            f"--pipe-size must be from 4KiB ({MIN_PIPE}) to 1MiB ({MAX_PIPE}) bytes, or 0 for the default"
        )
    return harness.check_pipe_size(pipe_size)


def _stalled(result: RunResult, mode: Mode) -> bool:
    if mode is Mode.FAITHFUL:
        # Timeout-based: the program's own join(T) ran out with the child still alive.
        pr = result.program_result
        if pr is None:
            raise PlatformError(f"a timeout-based probe ended without a result: {result.explanation}")
        return bool(pr.get("child_alive_after_join"))
    if result.verdict is Verdict.STALLED:
        return True
    if result.verdict is Verdict.OK:
        return False
    raise PlatformError(
        f"a probe of {result.spec.size:,} bytes in {result.spec.puts} put(s) ended in"
        f" {result.verdict.value}, not ok or stalled: {result.explanation}"
    )


def _observed_capacity(result: RunResult) -> int | None:
    if result.evidence is not None:
        return result.evidence.capacity
    cap = (result.program_result or {}).get("pipe_capacity")
    return int(cap) if cap is not None else None


class _Prober:
    """Runs probes for one configuration and keeps their trace."""

    def __init__(
        self, python: str, start_method: str | None, pipe_size: int, mode: Mode, timeout: float,
        on_probe: Callable[[Probe], None] | None,
    ) -> None:  # fmt: skip
        self.base = RunSpec(
            python=python, start_method=start_method, pipe_size=pipe_size, mode=mode, timeout=timeout
        )
        self.mode = mode
        self.on_probe = on_probe
        self.trace: list[Probe] = []

    def __call__(self, size: int, puts: int) -> bool:
        start = time.monotonic()
        result = harness.run(dataclasses.replace(self.base, size=size, puts=puts))
        probe = Probe(size, puts, _stalled(result, self.mode), round(time.monotonic() - start, 4),
                      _observed_capacity(result))  # fmt: skip
        self.trace.append(probe)
        if self.on_probe:
            self.on_probe(probe)
        return probe.stalled


def _resolve(python: str, start_method: str | None) -> tuple[interpreters.Interpreter, str]:
    interp = interpreters.probe(python)
    method = start_method or interp.default_method
    if method not in interp.start_methods:
        raise UsageError(
            f"start method {method!r} is not available in Python {interp.version};"
            f" choose one of: {', '.join(interp.start_methods)}"
        )
    return interp, method


def threshold(
    python: str,
    start_method: str | None = None,
    pipe_size: int = 0,
    puts: int = 1,
    *,
    lo: int = 0,
    hi: int | None = None,
    use_prediction: bool = True,
    mode: Mode = Mode.FAST,
    timeout: float | None = None,
    on_probe: Callable[[Probe], None] | None = None,
) -> ThresholdResult:
    """Measure the largest payload that does not stall, by real runs, byte-exact.

    ``[lo, hi]`` bounds the search (default: 0 up to the capacity, which can never fit). A
    ``lo`` above 0 and a ``hi`` below the capacity are probed to check that they bracket the
    threshold. ``use_prediction=False`` makes it a plain bisection (for fair benchmarks).
    """
    if puts < 1:
        raise UsageError("--puts must be 1 or more")
    if puts > harness.MAX_PUTS:
        raise UsageError(f"--puts must be from 1 to {harness.MAX_PUTS:,}")
    capacity = check_pipe_size(pipe_size)
    interp, method = _resolve(python, start_method)
    hi = capacity if hi is None else hi
    if lo < 0 or hi <= lo:
        raise UsageError(f"--lo {lo} .. --hi {hi} is not a range of payload sizes; need 0 <= lo < hi")
    if hi > seed.MAX_SIZE:
        raise UsageError(
            f"--hi must be at most {seed.MAX_SIZE:,} bytes (256 MiB), the program's largest payload"
        )
    start = time.monotonic()
    predicted = pipemodel.predict_threshold(python, capacity, puts, pipemodel.page_size())
    prober = _Prober(python, method, pipe_size, mode, _timeout(mode, timeout), on_probe)

    def stalls(n: int) -> bool:
        return prober(n, puts)

    fits_at = lo - 1 if lo == 0 else lo
    if lo > 0 and stalls(lo):
        raise UsageError(f"a payload of --lo {lo} bytes already stalls; lower --lo")
    # A payload of `capacity` bytes or more can never fit: every byte needs a byte in the pipe.
    if hi < capacity and not stalls(hi):
        raise UsageError(f"a payload of --hi {hi} bytes does not stall; raise --hi (up to {capacity})")
    measured, how = search(stalls, fits_at, hi, predicted if use_prediction else None)
    return ThresholdResult(
        python=python,
        python_version=interp.version,
        start_method=method,
        pipe_size=pipe_size,
        capacity=capacity,
        puts=puts,
        measured=measured,
        predicted=predicted,
        agree=measured == predicted,
        probes=len(prober.trace),
        seconds=round(time.monotonic() - start, 4),
        mode=mode.value,
        search=how,
        trace=tuple(prober.trace),
    )


def multiput(
    python: str,
    start_method: str | None,
    message_size: int,
    pipe_size: int = 0,
    *,
    use_prediction: bool = True,
    mode: Mode = Mode.FAST,
    timeout: float | None = None,
    on_probe: Callable[[Probe], None] | None = None,
) -> MultiputResult:
    """Measure the smallest number of puts of ``message_size`` bytes each that stalls.

    A probe of K puts runs the program with ``--puts K --size K*message_size``, so that every
    message has exactly ``message_size`` bytes.
    """
    if message_size < 0:
        raise UsageError("the message size must be 0 bytes or more")
    capacity = check_pipe_size(pipe_size)
    interp, method = _resolve(python, start_method)
    # Each message needs more than message_size + 4 bytes of pipe: this many always stall.
    bound = -(-capacity // (message_size + 4))
    if bound > harness.MAX_PUTS:
        raise UsageError(f"messages of {message_size} bytes would need up to {bound:,} puts; use bigger ones")
    start = time.monotonic()
    predicted = pipemodel.predict_puts(python, message_size, capacity, pipemodel.page_size())
    prober = _Prober(python, method, pipe_size, mode, _timeout(mode, timeout), on_probe)

    def stalls(k: int) -> bool:
        return prober(k * message_size, k)

    # Zero puts cannot stall; search for the largest K that does not, then add one.
    last_ok, how = search(stalls, 0, bound, predicted - 1 if use_prediction else None)
    return MultiputResult(
        message_size=message_size,
        capacity=capacity,
        measured_puts=last_ok + 1,
        predicted_puts=predicted,
        agree=last_ok + 1 == predicted,
        probes=len(prober.trace),
        seconds=round(time.monotonic() - start, 4),
        python=python,
        python_version=interp.version,
        start_method=method,
        pipe_size=pipe_size,
        mode=mode.value,
        search=how,
        trace=tuple(prober.trace),
    )


def _timeout(mode: Mode, timeout: float | None) -> float:
    if timeout is not None:
        if not timeout > 0:
            raise UsageError("--timeout must be a number of seconds greater than 0")
        return timeout
    return FAST_TIMEOUT if mode is Mode.FAST else 2.0
