"""Every default and bound of joinstall's inputs, each written once.

The commands read their option defaults here, the records their field defaults, and the checks
their bounds. A ``Bound`` speaks of a value by its name ("size must be ..."): the harness and the
measurements raise that message, and ``joinstall.options`` checks the same bound at the command
line, where argparse names the flag.
"""

from __future__ import annotations

import dataclasses
import math

from joinstall.errors import UsageError

# --- one run of the program ---------------------------------------------------------------

#: The payload of a run when none is given: far above any pipe, so the buggy program stalls.
SIZE = 1024 * 1024
#: The program's join timeout T. In the default fast mode a stall is proven long before it, so
#: T only bounds a run whose stall could not be proven (then join's own timeout decides).
TIMEOUT = 10.0
#: T when the run waits its join out (``sweep --faithful``, ``threshold --timeout-based``):
#: join either returns at once or not before T, so T is short; 2 s rather than 1 s so that a
#: slow start of the child on a busy machine is not taken for a stall.
FAITHFUL_TIMEOUT = 2.0
PUTS = 1
SHELL = "/bin/sh"
#: The oldest CPython the target program runs on.
MIN_PYTHON = (3, 8)
#: Runs or matrix cells at a time: each is a process tree of its own, so threads only wait.
JOBS = 2

# --- a sweep's grid -------------------------------------------------------------------------

GRID_LO = 1024
GRID_HI = 1024 * 1024
#: 48 log points + 16 dense points = the 64 sizes of the default sweep.
GRID_POINTS = 48
DENSE_POINTS = 16
DENSE_SPAN = 64


def join_timeout(faithful: bool) -> float:
    """The join timeout T of a run that waits its join out (``faithful``) or stops at proof."""
    return FAITHFUL_TIMEOUT if faithful else TIMEOUT


# --- bounds -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Bound:
    """Where a value may lie, and how to say so. ``rule()`` has no name in it, so that the
    command line can put its flag in front, and the engine the value's name."""

    name: str
    lo: float
    hi: float
    #: What the value is: "a whole number of bytes", "a number of seconds".
    what: str = "a whole number"
    #: ``lo`` itself is not allowed (a timeout of 0 is no timeout).
    above_lo: bool = False
    #: Why ``hi`` is the limit, said after it.
    why: str = ""

    def ok(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        low = value > self.lo if self.above_lo else value >= self.lo
        return low and value <= self.hi

    def rule(self) -> str:
        """``must be ...``: the allowed range in words."""
        lo = f"greater than {self.lo:,g}" if self.above_lo else f"from {self.lo:,.0f}"
        hi = f"and at most {self.hi:,.0f}" if self.above_lo else f"to {self.hi:,.0f}"
        why = f" {self.why}" if self.why else ""
        return f"must be {self.what} {lo} {hi}{why}"

    def message(self, value: object, name: str | None = None) -> str:
        return f"{name or self.name} {self.rule()}, not {value}"

    def check(self, value: float, name: str | None = None) -> None:
        """UsageError unless ``value`` is in range; ``name`` replaces the value's own name."""
        if not self.ok(value):
            raise UsageError(self.message(value, name))


#: A day: join(T) beyond that is a typo, and Python's own limit is far above any real use.
MAX_TIMEOUT = 86_400.0
#: The target program's own limit, repeated (it runs standalone and imports nothing of ours);
#: a test keeps the two equal. Not imported: that would load the program with every plugin start.
MAX_SIZE = 256 * 1024 * 1024
#: More messages than this is a typo: each is a run of the program's put loop.
MAX_PUTS = 100_000
#: More grid points than any sweep can run in a day: a larger number is a typo.
MAX_POINTS = 10_000
#: More parallel runs than this would only queue on the CPU.
MAX_JOBS = 256

SIZE_BOUND = Bound(
    "size", 0, MAX_SIZE, "a whole number of bytes", why="(256 MiB, the program's largest payload)"
)
TIMEOUT_BOUND = Bound("timeout", 0, MAX_TIMEOUT, "a number of seconds", above_lo=True)
PUTS_BOUND = Bound("puts", 1, MAX_PUTS, "a whole number of messages")
#: The smallest size of a sweep's log grid: a log grid cannot start at 0.
GRID_LO_BOUND = Bound("smallest size", 1, MAX_SIZE, "a whole number of bytes")
POINTS_BOUND = Bound("points", 1, MAX_POINTS, "a whole number of grid points")
DENSE_BOUND = Bound("dense points", 0, MAX_POINTS, "a whole number of grid points")
#: Seconds between two samples of a watched tree (``watch``, the pytest plugin). A proof needs
#: two samples that agree, so a hang is stopped within a few intervals; a sample costs ~1 ms.
INTERVAL = 0.05
#: More than this between samples is a typo: a hang would go unreported for minutes.
MAX_INTERVAL = 60.0
INTERVAL_BOUND = Bound("interval", 0, MAX_INTERVAL, "a number of seconds", above_lo=True)
JOBS_BOUND = Bound("jobs", 1, MAX_JOBS, "a whole number of runs at a time")
