"""The sizes a sweep runs: a log grid, with points packed densely around predicted thresholds.

Pure but for the pipe model's pickled lengths (asked of the target interpreter once).
"""

from __future__ import annotations

from collections.abc import Iterable

from joinstall import defaults, variants
from joinstall.errors import UsageError
from joinstall.model import pipemodel
from joinstall.observe import pipes
from joinstall.programs import seed

DEFAULT_LO = defaults.GRID_LO
DEFAULT_HI = defaults.GRID_HI
DEFAULT_POINTS = defaults.GRID_POINTS
DENSE_POINTS = defaults.DENSE_POINTS
DENSE_SPAN = defaults.DENSE_SPAN


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
    defaults.GRID_LO_BOUND.check(lo)
    defaults.SIZE_BOUND.check(hi, "the largest size")
    if lo >= hi:
        raise UsageError(
            f"the size range {lo:,}..{hi:,} is empty or inverted; the smallest size must be below the largest"
        )
    defaults.POINTS_BOUND.check(points)
    defaults.DENSE_BOUND.check(dense_points)
    if dense_span < 0:
        raise UsageError(f"the dense span must be 0 or more bytes, not {dense_span}")
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
