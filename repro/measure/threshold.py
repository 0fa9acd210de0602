"""Measure, byte for byte, where a stall begins, and compare it with the pipe model.

Two searches over probes (``joinstall.measure.probes``), both guided by the model's prediction:
the largest payload that does not stall (``threshold``), and the smallest number of puts of one
message size that stalls (``multiput``). The prediction and its neighbour are probed first,
which settles a right prediction in two runs; a wrong one falls back to bisection. Each is
planned (every input checked, nothing run) before it runs, so a command can open its output
file in between; ``threshold()`` and ``multiput()`` do both.
"""

from __future__ import annotations

import dataclasses
import time

from joinstall import defaults
from joinstall.errors import PlatformError, UsageError
from joinstall.measure.measurements import MultiputResult, ThresholdResult
from joinstall.measure.probes import OnProbe, Prober, Target, search, target
from joinstall.model import pipemodel, slots
from joinstall.records import Mode


@dataclasses.dataclass(frozen=True)
class ThresholdSearch:
    """A checked threshold search over payload sizes ``[lo, hi]``; ``run()`` measures it."""

    target: Target
    puts: int
    lo: int
    hi: int

    def run(self, use_prediction: bool = True, on_probe: OnProbe | None = None) -> ThresholdResult:
        """Measure the largest payload that does not stall, by real runs, byte-exact.

        A ``lo`` above 0 and a ``hi`` below the capacity are probed to check that they bracket
        the threshold. ``use_prediction=False`` makes it a plain bisection (fair benchmarks).
        """
        t = self.target
        start = time.monotonic()
        predicted = pipemodel.predict_threshold(t.python, t.capacity, self.puts, slots.page_size())
        prober = Prober(t, on_probe)

        def stalls(n: int) -> bool:
            return prober(n, self.puts)

        if self.lo > 0 and stalls(self.lo):
            raise UsageError(f"the smallest size searched, {self.lo:,} bytes, already stalls; lower it")
        # A payload of `capacity` bytes or more can never fit: every byte needs a byte in the pipe.
        if self.hi < t.capacity and not stalls(self.hi):
            raise UsageError(
                f"the largest size searched, {self.hi:,} bytes, does not stall; raise it (up to {t.capacity:,})"
            )
        fits_at = self.lo if self.lo > 0 else -1
        measured, how = search(stalls, fits_at, self.hi, predicted if use_prediction else None)
        return ThresholdResult(
            python=t.python,
            python_version=t.python_version,
            start_method=t.start_method,
            pipe_size=t.pipe_size,
            capacity=t.capacity,
            puts=self.puts,
            measured=measured,
            predicted=predicted,
            agree=measured == predicted,
            probes=len(prober.trace),
            seconds=round(time.monotonic() - start, 4),
            mode=t.mode.value,
            search=how,
            trace=tuple(prober.trace),
        )


def plan_threshold(
    python: str,
    start_method: str | None = None,
    pipe_size: int = 0,
    puts: int = defaults.PUTS,
    *,
    lo: int = 0,
    hi: int | None = None,
    mode: Mode = Mode.FAST,
    timeout: float | None = None,
) -> ThresholdSearch:
    """Check a threshold search (``hi`` defaults to the capacity, which can never fit)."""
    t = target(python, start_method, pipe_size, puts, mode, timeout)
    hi = t.capacity if hi is None else hi
    if lo < 0 or hi <= lo:
        raise UsageError(f"{lo} .. {hi} is not a range of payload sizes; need 0 <= lo < hi")
    defaults.SIZE_BOUND.check(hi, "the largest size searched")
    return ThresholdSearch(t, puts, lo, hi)


def threshold(
    python: str,
    start_method: str | None = None,
    pipe_size: int = 0,
    puts: int = defaults.PUTS,
    *,
    lo: int = 0,
    hi: int | None = None,
    use_prediction: bool = True,
    mode: Mode = Mode.FAST,
    timeout: float | None = None,
    on_probe: OnProbe | None = None,
) -> ThresholdResult:
    """Plan and run a threshold search (see ``plan_threshold`` and ``ThresholdSearch.run``)."""
    plan = plan_threshold(python, start_method, pipe_size, puts, lo=lo, hi=hi, mode=mode, timeout=timeout)
    return plan.run(use_prediction, on_probe)


@dataclasses.dataclass(frozen=True)
class MultiputSearch:
    """A checked search for the smallest number of puts of ``message_size`` bytes that stalls."""

    target: Target
    message_size: int
    #: This many puts always stall: each message needs more than ``message_size + 4`` bytes.
    bound: int

    def run(self, use_prediction: bool = True, on_probe: OnProbe | None = None) -> MultiputResult:
        """Measure it. A probe of K puts runs the program with ``--puts K --size K*message_size``,
        so that every message has exactly ``message_size`` bytes."""
        t, size = self.target, self.message_size
        start = time.monotonic()
        predicted = pipemodel.predict_puts(t.python, size, t.capacity, slots.page_size())
        prober = Prober(t, on_probe)

        def stalls(k: int) -> bool:
            return prober(k * size, k)

        # Zero puts cannot stall: search for the largest K that does not, then add one. The
        # upper end is bound + 1, not bound, so that bound itself is probed whenever the answer
        # rests on it: a reported count is always a measured one.
        last_ok, how = search(stalls, 0, self.bound + 1, predicted - 1 if use_prediction else None)
        if last_ok == self.bound:
            raise PlatformError(
                f"{self.bound} puts of {size:,} bytes did not stall, though they need more than the"
                f" pipe's {t.capacity:,} bytes; the queue's pipe is bigger than the kernel reported"
            )
        return MultiputResult(
            variant=prober.base.variant,
            message_size=size,
            capacity=t.capacity,
            measured_puts=last_ok + 1,
            predicted_puts=predicted,
            agree=last_ok + 1 == predicted,
            exact=True,
            probes=len(prober.trace),
            seconds=round(time.monotonic() - start, 4),
            python=t.python,
            python_version=t.python_version,
            start_method=t.start_method,
            pipe_size=t.pipe_size,
            mode=t.mode.value,
            search=how,
            trace=tuple(prober.trace),
        )


def plan_multiput(
    python: str,
    start_method: str | None,
    message_size: int,
    pipe_size: int = 0,
    *,
    mode: Mode = Mode.FAST,
    timeout: float | None = None,
) -> MultiputSearch:
    """Check a multi-put search: the message size, and that its bound is a count we may run."""
    defaults.SIZE_BOUND.check(message_size, "message size")
    t = target(python, start_method, pipe_size, 1, mode, timeout)
    bound = -(-t.capacity // (message_size + 4))
    if bound > defaults.MAX_PUTS:
        raise UsageError(f"messages of {message_size} bytes would need up to {bound:,} puts; use bigger ones")
    if bound * message_size > defaults.MAX_SIZE:
        raise UsageError(
            f"{bound:,} puts of {message_size:,} bytes would send more than the program's 256 MiB;"
            " use smaller messages or a smaller pipe"
        )
    return MultiputSearch(t, message_size, bound)


def multiput(
    python: str,
    start_method: str | None,
    message_size: int,
    pipe_size: int = 0,
    *,
    use_prediction: bool = True,
    mode: Mode = Mode.FAST,
    timeout: float | None = None,
    on_probe: OnProbe | None = None,
) -> MultiputResult:
    """Plan and run a multi-put search (see ``plan_multiput`` and ``MultiputSearch.run``)."""
    plan = plan_multiput(python, start_method, message_size, pipe_size, mode=mode, timeout=timeout)
    return plan.run(use_prediction, on_probe)
