"""Byte-exact bisection over [0, 1 MiB]: proven-stall verdicts against join-timeout verdicts.

Both searches are the same plain bisection (no prediction shortcut) over the same range, with
real runs of the program. The fast one calls a probe stalled when /proc proves it and stops
the run; the timeout-based one lets the program's own join(T) run out (its default T), which is how one
would find the threshold without looking inside. Goals: the fast search within 2 s, and at
least 50 times quicker than the timeout-based one.
"""

from __future__ import annotations

import sys

from joinstall import defaults
from joinstall.measure import threshold as th
from joinstall.measure.measurements import Probe, ThresholdResult
from joinstall.records import Mode

from benchmarks import timing

HI = 1024 * 1024
TIMEOUT = defaults.FAITHFUL_TIMEOUT
GOAL_FAST_S = 2.0
GOAL_RATIO = 50.0


def _search(mode: Mode) -> ThresholdResult:
    return th.threshold(
        sys.executable, "fork", 0, lo=0, hi=HI, use_prediction=False, mode=mode,
        timeout=None,
    )  # fmt: skip


def _mean(probes: list[Probe]) -> float:
    return sum(p.seconds for p in probes) / len(probes) if probes else 0.0


def _describe(name: str, res: ThresholdResult) -> None:
    stalls = [p for p in res.trace if p.stalled]
    oks = [p for p in res.trace if not p.stalled]
    mean = _mean
    print(
        f"  {name:<12}: threshold {res.measured:,} bytes in {res.probes} probes, {res.seconds:.2f} s"
        f" ({len(stalls)} stalled, {mean(stalls):.3f} s each; {len(oks)} ok, {mean(oks):.3f} s each)"
    )


def main() -> None:
    print(f"bisection over [0, {HI:,}] bytes, {sys.executable} (fork), default pipe capacity")
    fast = _search(Mode.FAST)
    _describe("proven stall", fast)
    slow = _search(Mode.FAITHFUL)
    _describe(f"join({TIMEOUT:g} s)", slow)
    if fast.measured != slow.measured:
        print(f"  WARNING: the two searches disagree: {fast.measured} vs {slow.measured}")
    timing.table([("proven stall", fast.seconds), (f"timeout {TIMEOUT:g} s", slow.seconds)], "proven stall")
    ratio = slow.seconds / fast.seconds
    per_stall = _mean([p for p in slow.trace if p.stalled]) / (
        _mean([p for p in fast.trace if p.stalled]) or 1
    )
    # Why the whole-search ratio stays far below the per-stall one: a probe that does not stall
    # joins at once and costs the same in both modes, and a bisection spends most probes there.
    print(f"  one stalled probe: {per_stall:.1f}x quicker when proven than when join({TIMEOUT:g}) runs out")
    print(
        f"  fast search {fast.seconds:.2f} s (goal <= {GOAL_FAST_S:g} s: "
        f"{'met' if fast.seconds <= GOAL_FAST_S else 'NOT met'}); ratio {ratio:.1f}x "
        f"(goal >= {GOAL_RATIO:g}x: {'met' if ratio >= GOAL_RATIO else 'NOT met'})"
    )
