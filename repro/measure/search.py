"""Byte-exact search for where a monotone yes/no answer flips. Pure: it only calls ``stalls``.

The threshold and multi-put searches use it with real runs; the tests use it with a plain
predicate, so that a wrong search cannot hide behind a right model.
"""

from __future__ import annotations

from collections.abc import Callable


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
