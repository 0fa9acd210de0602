"""Threshold vs pipe capacity: the measured points sit on the predicted line, byte for byte."""

from __future__ import annotations

from joinstall.analysis.draw import axes
from joinstall.analysis.series.thresholds import ThresholdGroup, ThresholdSeries
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def draw(data: ThresholdSeries) -> Figure:
    fig = axes.new(12, 5)
    left, right = fig.subplots(1, 2)
    lo, hi = data.capacity_span
    for i, g in enumerate(data.groups):
        _group(left, g, f"C{i}", overhead=False)
        _group(right, g, f"C{i}", overhead=True)
    axes.bytes_axis(left, "x", lo, hi)
    axes.bytes_axis(left, "y", lo * 0.9, hi)
    axes.bytes_axis(right, "x", lo, hi)
    left.set_title("largest payload that does not stall")
    left.set_ylabel("threshold: payload bytes (log scale)")
    right.set_title("what the pipe must hold besides the payload")
    right.set_ylabel("capacity - threshold (bytes: length header + pickle framing)")
    for ax in (left, right):
        ax.set_xlabel("pipe capacity (F_SETPIPE_SZ, bytes, log scale)")
        ax.grid(True, alpha=0.3)
        if data.groups:
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, "no threshold records in these results", transform=ax.transAxes, ha="center")
    fig.suptitle("The single-message threshold follows the pipe capacity")
    return fig


def _group(ax: Axes, g: ThresholdGroup, color: str, overhead: bool) -> None:
    """One interpreter's thresholds; ``overhead`` draws what the pipe holds besides the payload."""
    predicted = g.predicted_overhead if overhead else g.predicted
    values = g.measured_overhead if overhead else g.measured
    pred = [(c, p) for c, p in zip(g.capacities, predicted, strict=True) if p is not None]
    measured = [(c, m, a) for c, m, a in zip(g.capacities, values, g.agree, strict=True) if m is not None]
    if pred:
        ax.plot(*zip(*pred, strict=True), "-", color=color, alpha=0.6, label=f"predicted ({g.label})")
    for agree, style, what in ((True, "o", "agrees"), (False, "X", "DISAGREES")):
        pts = [(c, v) for c, v, a in measured if a is agree]
        if pts:
            ax.plot(
                *zip(*pts, strict=True), style, ms=6 if agree else 10, color=color if agree else "tab:red",
                ls="none", label=f"measured, {what} ({g.label})",
            )  # fmt: skip
