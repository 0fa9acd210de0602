"""The sizes a sweep runs: a log grid, with points packed densely around predicted thresholds.

Pure but for the pipe model's pickled lengths (asked of the target interpreter once).
"""

from __future__ import annotations

from collections.abc import Iterable

from joinstall import variants
from joinstall.errors import UsageError
from joinstall.model import pipemodel
from joinstall.observe import pipes
from joinstall.programs import seed

DEFAULT_LO = 1024
DEFAULT_HI = 1024 * 1024
#: More points than any sweep can run in a day: a larger number is a typo.
MAX_POINTS = 10_000
#: 48 log points + 16 dense points = the 64 sizes of the default sweep.
DEFAULT_POINTS = 48
DENSE_POINTS = 16
DENSE_SPAN = 64


def log_grid(
    lo: int = DEFAULT_LO,
    hi: int = DEFAULT_HI,
    points: int = DEFAULT_POINTS,
    dense_center: int | Iterable[int] | None = None,
    dense_points: int = DENSE_POINTS,
    dense_span: int = DENSE_SPAN,
) -> list[int]:
    """Sizes from ``lo`` to ``hi`` on a log grid, plus dense points around each centre.

    Around a centre c the dense points always include c and c + 1 (the last size that fits
    and the first that stalls, when c is the threshold) and spread the rest evenly over
    [c - span, c + span + 1]. Points outside [lo, hi] are dropped. Sorted and unique.
    """
    if lo < 1:
        raise UsageError(f"--lo must be at least 1 byte (a log grid cannot start at {lo})")
    if hi > seed.MAX_SIZE:
        raise UsageError(f"--hi must be at most {seed.MAX_SIZE:,} bytes (256 MiB)")
    if lo >= hi:
        raise UsageError(f"the size range {lo:,}..{hi:,} is empty or inverted; pass a --lo below --hi")
    if not 1 <= points <= MAX_POINTS:
        raise UsageError(f"--points must be from 1 to {MAX_POINTS:,}; a grid of {points} points cannot run")
    if not (0 <= dense_points <= MAX_POINTS and dense_span >= 0):
        raise UsageError(
            f"--dense must be from 0 to {MAX_POINTS:,} (got {dense_points} points, span {dense_span})"
        )
    ratio = hi / lo
    grid = {lo} if points == 1 else {round(lo * ratio ** (i / (points - 1))) for i in range(points)}
    grid |= {hi} if points > 1 else set()  # float rounding must not lose the end point
    centres = (
        [] if dense_center is None else [dense_center] if isinstance(dense_center, int) else dense_center
    )
    for c in centres:
        grid |= {x for x in _dense(c, dense_points, dense_span) if lo <= x <= hi}
    return sorted(grid)


def _dense(center: int, n: int, span: int) -> set[int]:
    must = [center, center + 1][:n]
    rest = n - len(must)
    if rest <= 0:
        return set(must)
    step = (2 * span + 1) / (rest - 1) if rest > 1 else 0.0
    return set(must) | {round(center - span + i * step) for i in range(rest)}


def capacity_of(variant: str, pipe_size: int) -> int:
    """The capacity of the pipe a variant's payload goes through (seed.py resizes bigpipe's).

    UsageError when the kernel would refuse that size, before anything runs.
    """
    return pipes.capacity_for(seed.BIGPIPE_SIZE if variant == "bigpipe" else pipe_size)


def modelled(variant: str) -> bool:
    """Whether the pipe model predicts this variant's stall: the bugs, whose queue pipe fills,
    and the mitigation (bigpipe), whose bigger pipe fills later. Fixes never stall; the false
    fix and the sibling (a subprocess pipe) are not what the model describes."""
    return variants.get(variant).kind in (variants.Kind.BUG, variants.Kind.MITIGATION)


def centres(python: str, pipe_size: int, names: Iterable[str]) -> list[int]:
    """Where the dense grid points go: the predicted one-put threshold of each pipe a chosen
    variant can fill (the configured one, and bigpipe's own when it is chosen)."""
    capacities = {capacity_of(n, pipe_size) for n in names if modelled(n)}
    return sorted({pipemodel.predict_threshold(python, c) for c in capacities})
