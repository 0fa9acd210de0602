"""Probes, and the byte-exact search over them for where the answer flips.

A probe is one real run of the program that answers "stalled or not", for a checked target.
``search`` itself is pure (it only calls ``stalls``): the threshold and multi-put searches give
it probes, the tests a plain predicate, so a wrong search cannot hide behind a right model.

In the default fast mode a probe counts as a stall when the harness *proves* it from /proc (a
writer asleep on a full pipe that nobody reads), so a stalling probe costs about as much as one
that joins at once. The timeout-based mode lets the program's own ``join(T)`` run out instead
and calls a probe stalled when the child is still alive after it: the way one would find the
threshold without /proc.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from joinstall import defaults, harness, interpreters
from joinstall.errors import PlatformError
from joinstall.measure.measurements import Probe
from joinstall.observe import pipes
from joinstall.observe.verdict import Verdict
from joinstall.records import Mode, RunResult, RunSpec

OnProbe = Callable[[Probe], None]


@dataclasses.dataclass(frozen=True)
class Target:
    """What every probe of one search runs, checked before the first one starts."""

    python: str
    python_version: str
    #: Resolved: the interpreter's default when none was asked for.
    start_method: str
    pipe_size: int
    capacity: int
    mode: Mode
    timeout: float


def target(
    python: str, start_method: str | None, pipe_size: int, puts: int, mode: Mode, timeout: float | None
) -> Target:
    """Check a configuration the way every run is checked (``harness.validate``), run nothing."""
    if timeout is None:
        timeout = defaults.join_timeout(faithful=mode is Mode.FAITHFUL)
    spec = RunSpec(
        python=python, start_method=start_method, pipe_size=pipe_size, puts=puts, mode=mode, timeout=timeout
    )
    harness.validate(spec)
    interp = interpreters.probe(python)  # cached: validate asked it already
    method = start_method or interp.default_method
    return Target(python, interp.version, method, pipe_size, pipes.capacity_for(pipe_size), mode, timeout)


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
    if result.proof is not None and result.proof.full_pipe is not None:
        return result.proof.full_pipe.capacity
    cap = (result.program_result or {}).get("pipe_capacity")
    return int(cap) if cap is not None else None


class Prober:
    """Runs probes for one target and keeps their trace."""

    def __init__(self, t: Target, on_probe: OnProbe | None) -> None:
        self.base = RunSpec(
            python=t.python,
            start_method=t.start_method,
            pipe_size=t.pipe_size,
            mode=t.mode,
            timeout=t.timeout,
        )
        self.mode = t.mode
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


def search(
    stalls: Callable[[int], bool], fits_at: int, stalls_at: int, guess: int | None = None
) -> tuple[int, str]:
    """The largest n in [fits_at, stalls_at) for which ``stalls(n)`` is False.

    ``fits_at`` is known (or taken) not to stall and ``stalls_at`` to stall; neither is
    probed. With a ``guess``, ``guess`` and ``guess + 1`` are probed first: when the guess is
    right that settles it in two probes. Whatever they show narrows the bisection that
    follows, if one is still needed. Returns (n, "bracket" | "bisection").

    It assumes a monotone answer (a bigger n never fits where a smaller one did not); the
    pipe model's tests check that assumption against a scan of every size.
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
