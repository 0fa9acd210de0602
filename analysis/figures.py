"""Draw the series of ``analysis.series``: each function returns the Figure and what it drew.

Figures are built on matplotlib's object API with the Agg canvas, never through pyplot, so no
global backend is switched (a notebook keeps its own) and nothing is shown on a screen.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from analysis import series
from analysis.results import Results
from analysis.units import human_bytes
from repro.verdict import Verdict

VERDICT_STYLE = {
    Verdict.OK: ("o", "tab:green", "ok: join returned (measured)"),
    Verdict.STALLED: ("s", "tab:red", "stalled: join returned at its timeout (measured)"),
    Verdict.DATA_LOSS: ("D", "tab:purple", "data loss: join returned, payload incomplete"),
    Verdict.ERROR: ("X", "tab:gray", "error"),
}
PROVEN_LABEL = "proven stall; join would return at T"
BYTE_MODEL_LABEL = "if the pipe counted bytes: {cap} / wire bytes per message + 1"
#: (agrees with the prediction, exact) -> marker and legend text of a measured put count.
MULTIPUT_STYLE = {
    (True, True): ("o", "measured"),
    (None, True): ("D", "measured, nothing predicted"),
    (False, True): ("X", "measured, DISAGREES"),
    (True, False): ("o", "measured upper bound (one put fewer not tried)"),
    (None, False): ("D", "measured upper bound, nothing predicted"),
    (False, False): ("X", "measured upper bound, DISAGREES"),
}
# Light fills, so the black text in each cell stays readable.
AGREE, DISAGREE, MISSING = "#a6dba0", "#f4a582", "0.92"


def _new(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _bytes_axis(ax: Axes, axis: str, lo: float, hi: float) -> None:
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


def timeouts(results: Results) -> tuple[Figure, series.TimeoutSeries]:
    """Where the timeouts hit: time until join returns vs payload size, one panel per variant."""
    data = series.timeouts(results)
    return draw_timeouts(data), data


def draw_timeouts(data: series.TimeoutSeries) -> Figure:
    # Four panels read better as 2 x 2 than as 3 + 1.
    cols = 2 if len(data.panels) == 4 else min(3, len(data.panels))
    rows = math.ceil(len(data.panels) / cols)
    fig = _new(5.2 * cols, 3.9 * rows + 1.4)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    sizes = [p.size for panel in data.panels for p in panel.points] or [1024, 1024**2]
    marks = [v for panel in data.panels for v in (panel.capacity, panel.threshold) if v]
    t_max = max([t for panel in data.panels for t in panel.timeouts] or [1.0])
    for ax, panel in zip(axes, data.panels, strict=False):
        _timeout_panel(ax, panel)
        _bytes_axis(ax, "x", min(sizes + marks), max(sizes + marks))
        ax.set_ylim(-0.04 * t_max, 1.18 * t_max)
    for ax in axes[len(data.panels) :]:
        ax.set_visible(False)
    for ax in axes[(rows - 1) * cols :]:
        ax.set_xlabel("payload size (bytes, log scale)")
    for ax in axes[::cols]:
        ax.set_ylabel("time until join() returns (s)")
    fig.suptitle(
        "Where the timeouts hit: join(T) before get() returns at once while the message fits the pipe,"
        " and only at T once it does not"
    )
    handles: dict[str, Artist] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=2, fontsize="small")
    return fig


def _timeout_panel(ax: Axes, panel: series.TimeoutPanel) -> None:
    ax.set_title(panel.title, fontsize="medium")
    ax.grid(True, alpha=0.3)
    # Faithful and fast runs may use different timeouts: each line carries its T beside it.
    for t in panel.timeouts:
        ax.axhline(t, color="black", lw=1, ls="--", label=f"join timeout T = {t:g} s")
        ax.text(0.01, t, f"T = {t:g} s", transform=ax.get_yaxis_transform(), va="bottom", fontsize="x-small")
    # The two lines are a few bytes apart, one on top of the other at this scale: the numbers
    # beside them tell them apart.
    on_top = ax.get_xaxis_transform()
    if panel.capacity:
        ax.axvline(
            panel.capacity, color="tab:blue", lw=1, ls=":", label=f"pipe capacity {panel.capacity:,} B"
        )
        ax.text(panel.capacity * 1.08, 0.5, f"capacity {panel.capacity:,} B", transform=on_top, rotation=90,
                va="center", ha="left", fontsize="x-small", color="tab:blue")  # fmt: skip
    if panel.threshold:
        ax.axvline(
            panel.threshold, color="tab:orange", lw=1.2, ls="-.",
            label=f"measured threshold {panel.threshold:,} B (largest payload that does not stall)",
        )  # fmt: skip
        ax.text(panel.threshold / 1.08, 0.5, f"threshold {panel.threshold:,} B", transform=on_top,
                rotation=90, va="center", ha="right", fontsize="x-small", color="tab:orange")  # fmt: skip
    for verdict, (marker, color, label) in VERDICT_STYLE.items():
        pts = [p for p in panel.points if p.verdict is verdict and not p.proven_only]
        if pts:
            ax.plot(
                [p.size for p in pts], [p.seconds for p in pts], marker, color=color, ls="none", label=label
            )
    proven = [p for p in panel.points if p.proven_only]
    if proven:
        ax.plot(
            [p.size for p in proven], [p.seconds for p in proven], "v", ms=9, mfc="none", mew=1.6,
            color="tab:red", ls="none", label=PROVEN_LABEL,
        )  # fmt: skip
    if panel.note:
        hint = f"{panel.note}:\nrun the sweep with this variant to compare"
        ax.text(0.5, 0.5, hint, transform=ax.transAxes, ha="center", va="center", wrap=True, color="0.3")
    elif panel.without_time:
        ax.text(0.02, 0.97, f"{panel.without_time} run(s) without a join time (errors) not shown",
                transform=ax.transAxes, va="top", fontsize="small", color="0.3")  # fmt: skip


def thresholds(results: Results) -> tuple[Figure, series.ThresholdSeries]:
    """Threshold vs pipe capacity: the measured points sit on the predicted line, byte for byte."""
    data = series.thresholds(results)
    return draw_thresholds(data), data


def draw_thresholds(data: series.ThresholdSeries) -> Figure:
    fig = _new(12, 5)
    left, right = fig.subplots(1, 2)
    caps = [c for g in data.groups for c in g.capacities] or [4096, 1024**2]
    for i, g in enumerate(data.groups):
        _threshold_group(left, g, f"C{i}", overhead=False)
        _threshold_group(right, g, f"C{i}", overhead=True)
    _bytes_axis(left, "x", min(caps), max(caps))
    _bytes_axis(left, "y", min(caps) * 0.9, max(caps))
    _bytes_axis(right, "x", min(caps), max(caps))
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


def _threshold_group(ax: Axes, g: series.ThresholdGroup, color: str, overhead: bool) -> None:
    """One interpreter's thresholds; ``overhead`` plots capacity - threshold instead."""

    def y(capacity: int, value: int) -> int:
        return capacity - value if overhead else value

    pred = [(c, y(c, p)) for c, p in zip(g.capacities, g.predicted, strict=True) if p is not None]
    measured = [
        (c, y(c, m), a) for c, m, a in zip(g.capacities, g.measured, g.agree, strict=True) if m is not None
    ]
    if pred:
        ax.plot(*zip(*pred, strict=True), "-", color=color, alpha=0.6, label=f"predicted ({g.label})")
    for agree, style, what in ((True, "o", "agrees"), (False, "X", "DISAGREES")):
        pts = [(c, v) for c, v, a in measured if a is agree]
        if pts:
            ax.plot(
                *zip(*pts, strict=True), style, ms=6 if agree else 10, color=color if agree else "tab:red",
                ls="none", label=f"measured, {what} ({g.label})",
            )  # fmt: skip


def multiput(results: Results) -> tuple[Figure, series.MultiputSeries]:
    """Puts until the stall vs message size: page slots make steps a byte count would not."""
    data = series.multiput(results)
    return draw_multiput(data), data


def draw_multiput(data: series.MultiputSeries) -> Figure:
    fig = _new(10, 5.5)
    ax = fig.subplots()
    sizes = [s for c in data.curves for s in c.message_sizes] or [64, 65536]
    for model in data.models:
        cap = human_bytes(model.capacity)
        ax.plot(model.sizes, model.slot_puts, "-", drawstyle="steps-post", color="0.25", lw=1.2,
                label=f"page-slot model ({cap} pipe)")  # fmt: skip
        ax.plot(
            model.sizes, model.byte_puts, ":", color="0.5", lw=1.5, label=BYTE_MODEL_LABEL.format(cap=cap)
        )
    for i, c in enumerate(data.curves):
        who = f"{c.variant}, {human_bytes(c.capacity)} pipe"
        color = f"C{i}"
        pred = [(s, p) for s, p in zip(c.message_sizes, c.predicted, strict=True) if p is not None]
        if pred:
            ax.plot(*zip(*pred, strict=True), "_", ms=14, mew=2, color=color, ls="none",
                    label=f"prediction stored with the measurement ({who})")  # fmt: skip
        measured = list(zip(c.message_sizes, c.measured, c.agree, c.exact, strict=True))
        for (agree, exact), (marker, what) in MULTIPUT_STYLE.items():
            pts = [(s, m) for s, m, a, e in measured if m is not None and a is agree and e is exact]
            if pts:
                ax.plot(
                    *zip(*pts, strict=True), marker, ms=7, color="tab:red" if agree is False else color,
                    mfc="none" if not exact else None, ls="none", label=f"{what} ({who})",
                )  # fmt: skip
        above = [(s, k) for s, k in zip(c.message_sizes, c.no_stall_up_to, strict=True) if k is not None]
        if above:
            ax.plot(*zip(*above, strict=True), "^", ms=8, mfc="none", color=color, ls="none",
                    label=f"no stall up to this many puts, the most tried ({who})")  # fmt: skip
    _bytes_axis(ax, "x", min(sizes), max(sizes))
    ax.set_yscale("log")
    ax.set_xlabel("payload bytes per message (log scale)")
    ax.set_ylabel("puts until the stall (log scale)")
    ax.grid(True, which="both", alpha=0.3)
    if data.curves:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no multiput records in these results", transform=ax.transAxes, ha="center")
    ax.set_title(
        "Many messages: the pipe fills by 4 KiB page slots, so messages of a few KiB stall well before"
        " their bytes add up to the capacity",
        fontsize="medium", wrap=True,
    )  # fmt: skip
    return fig


def matrix(results: Results) -> tuple[Figure, series.MatrixSeries]:
    """Interpreter x start method: colour says agree/disagree, the text the measured threshold."""
    data = series.matrix(results)
    return draw_matrix(data), data


def draw_matrix(data: series.MatrixSeries) -> Figure:
    rows, cols = data.interpreters, data.start_methods
    fig = _new(max(6.0, 2.2 * len(cols) + 3), max(3.5, 0.6 * len(rows) + 2))
    ax = fig.subplots()
    grid = [[_status(data.cells.get((r, c))) for c in cols] for r in rows]
    if rows and cols:
        ax.imshow(grid, cmap=ListedColormap([MISSING, AGREE, DISAGREE]), vmin=0, vmax=2, aspect="auto")
        # White rules between the cells, so neighbours of the same colour stay separate.
        ax.set_xticks([x - 0.5 for x in range(1, len(cols))], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, len(rows))], minor=True)
        ax.grid(which="minor", color="white", lw=3)
        ax.tick_params(which="minor", length=0)
    for y, r in enumerate(rows):
        for x, c in enumerate(cols):
            ax.text(x, y, _cell_text(data.cells.get((r, c))), ha="center", va="center", fontsize="small")
    ax.set_xticks(range(len(cols)), list(cols))
    ax.set_yticks(range(len(rows)), [f"Python {r}" for r in rows])
    ax.set_xlabel("start method")
    ax.set_ylabel("interpreter")
    if not rows:
        ax.text(0.5, 0.5, "no matrix records in these results", transform=ax.transAxes, ha="center")
    ax.legend(
        handles=[Patch(color=AGREE, label="measured = predicted"), Patch(color=DISAGREE, label="disagrees"),
                 Patch(color=MISSING, label="not run")],
        loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small",
    )  # fmt: skip
    pipes = ", ".join(human_bytes(c) for c in data.capacities)
    ax.set_title(
        "Single-message threshold (payload bytes) per interpreter and start method"
        + (f", {pipes} pipe" if pipes else ""),
        fontsize="medium",
    )
    return fig


def _status(cell: series.MatrixCell | None) -> int:
    return 0 if cell is None else 1 if cell.agree else 2


def _cell_text(cell: series.MatrixCell | None) -> str:
    if cell is None:
        return "not run"
    measured = f"{cell.measured:,} B" if cell.measured is not None else "no value"
    extra = "" if cell.agree else f"\npredicted {cell.predicted:,} B" if cell.predicted is not None else "\n?"
    more = f"\n({cell.records} records)" if cell.records > 1 else ""
    return measured + extra + more
