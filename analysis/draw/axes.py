"""What every figure shares: a headless Figure, a log2 byte axis, and whole-or-nothing saving."""

from __future__ import annotations

import math
import os
from pathlib import Path

from joinstall.analysis.units import human_bytes
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator


def new(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def bytes_axis(ax: Axes, axis: str, lo: float, hi: float) -> None:
    """A log2 byte axis with ticks at powers of two, labelled 4 KiB, 64 KiB, 1 MiB."""
    lo_exp, hi_exp = math.floor(math.log2(max(lo, 1))), math.ceil(math.log2(max(hi, 2)))
    step = 1 if hi_exp - lo_exp <= 8 else 2
    ticks = [2.0**e for e in range(lo_exp, hi_exp + 1, step)]
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=2)
    target.set_major_locator(FixedLocator(ticks))
    target.set_minor_locator(NullLocator())
    target.set_major_formatter(FuncFormatter(lambda v, _: human_bytes(v)))
    (ax.set_xlim if axis == "x" else ax.set_ylim)(2.0**lo_exp / 1.3, 2.0**hi_exp * 1.3)


def save(fig: Figure, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write ``stem.png`` and ``stem.svg``; each appears whole or not at all (temp + rename)."""
    out = []
    for fmt in ("png", "svg"):
        final = directory / f"{stem}.{fmt}"
        tmp = directory / f".{stem}.{fmt}.tmp"
        fig.savefig(tmp, format=fmt, dpi=120)
        os.replace(tmp, final)
        out.append(final)
    return out[0], out[1]
