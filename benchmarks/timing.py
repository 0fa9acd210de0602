"""Small timing helpers shared by the benchmark modules."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def repeat(fn: Callable[[], object], n: int) -> list[float]:
    """Wall-clock seconds of ``n`` calls of ``fn``."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def table(rows: list[tuple[str, float]], base: str) -> None:
    """Print median seconds and the ratio to the row named ``base``, side by side."""
    ref = dict(rows)[base]
    width = max(len(name) for name, _ in rows)
    for name, secs in rows:
        print(f"  {name:<{width}}  {secs * 1000:9.1f} ms   {secs / ref:6.2f}x of {base}")


def goals(*checks: tuple[str, float, float, str]) -> None:
    """One line of (label, value, limit, unit) checks: ``label 0.21 s (goal <= 0.4 s): met``."""
    said = [
        f"{label} {value:.2f}{unit} (goal <= {limit:g}{unit}): {'met' if value <= limit else 'MISSED'}"
        for label, value, limit, unit in checks
    ]
    print("  " + "; ".join(said))
