"""Time until join returns vs payload size, one panel per variant and join timeout, lines where
the stall begins. Drawn from a ``TimeoutSeries`` alone."""

from __future__ import annotations

import math

from joinstall.analysis import registry
from joinstall.analysis.draw import axes
from joinstall.analysis.series.timeouts import TimeoutPanel, TimeoutSeries
from joinstall.observe.verdict import Verdict
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

VERDICT_STYLE = {
    Verdict.OK: ("o", "tab:green", "ok: join returned (measured)"),
    Verdict.STALLED: ("s", "tab:red", "stalled: join returned at its timeout (measured)"),
    Verdict.DATA_LOSS: ("D", "tab:purple", "data loss: join returned, payload incomplete"),
    Verdict.ERROR: ("X", "tab:gray", "error"),
}
#: An ok run of a false fix: the data-loss colour, open, so it never passes for a fix's green.
BY_LUCK_STYLE = ("o", "tab:purple", f"{registry.OK_BY_LUCK} (a false fix: join returned, data arrived)")
PROVEN_LABEL = "proven stall; join would return at T"


def threshold_label(threshold: int) -> str:
    return f"measured threshold {threshold:,} B (largest payload that does not stall)"


def draw(data: TimeoutSeries) -> Figure:
    # Four panels read better as 2 x 2 than as 3 + 1.
    cols = 2 if len(data.panels) == 4 else min(3, len(data.panels))
    rows = math.ceil(len(data.panels) / cols)
    fig = axes.new(5.2 * cols, 3.9 * rows + 1.4)
    # Each panel's y axis runs to its own T: panels of T = 1 s and T = 10 s share no scale.
    grid = fig.subplots(rows, cols, sharex=True, squeeze=False).ravel()
    fallback = max(data.timeouts, default=1.0)
    for ax, panel in zip(grid, data.panels, strict=False):
        _panel(ax, panel)
        axes.bytes_axis(ax, "x", *data.size_span)
        top = panel.timeout if panel.timeout is not None else fallback
        ax.set_ylim(-0.04 * top, 1.18 * top)
    for ax in grid[len(data.panels) :]:
        ax.set_visible(False)
    for ax in grid[(rows - 1) * cols :]:
        ax.set_xlabel("payload size (bytes, log scale)")
    for ax in grid[::cols]:
        ax.set_ylabel("time until join() returns (s)")
    fig.suptitle(
        "Where the timeouts hit: join(T) before get() returns at once while the message fits the pipe,"
        " and only at T once it does not"
    )
    handles: dict[str, Artist] = {}
    for ax in grid:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=2, fontsize="small")
    return fig


def _vline(ax: Axes, x: int, color: str, ls: str, label: str, text: str, left: bool) -> None:
    # Capacity and threshold are a few bytes apart, one on top of the other at this scale: the
    # numbers beside them (one on each side) tell them apart.
    ax.axvline(x, color=color, lw=1.2, ls=ls, label=label)
    ax.text(x / 1.08 if left else x * 1.08, 0.5, text, transform=ax.get_xaxis_transform(), rotation=90,
            va="center", ha="right" if left else "left", fontsize="x-small", color=color)  # fmt: skip


def _panel(ax: Axes, panel: TimeoutPanel) -> None:
    ax.set_title(panel.title, fontsize="medium")
    ax.grid(True, alpha=0.3)
    if panel.timeout is not None:
        t = panel.timeout
        ax.axhline(t, color="black", lw=1, ls="--", label=f"join timeout T = {t:g} s")
        ax.text(0.01, t, f"T = {t:g} s", transform=ax.get_yaxis_transform(), va="bottom", fontsize="x-small")
    if panel.capacity:
        cap = panel.capacity
        _vline(ax, cap, "tab:blue", ":", f"pipe capacity {cap:,} B", f"capacity {cap:,} B", left=False)
    if panel.threshold:
        t = panel.threshold
        _vline(ax, t, "tab:orange", "-.", threshold_label(t), f"threshold {t:,} B", left=True)
    if panel.switch:
        s = panel.switch
        said = f"{s.last_ok:,} B" if s.exact else f"{s.last_ok:,}..{s.first_stalled - 1:,} B"
        _vline(ax, s.last_ok, "tab:brown", "-.", f"its own runs: ok up to {s.last_ok:,} B, stalled from"
               f" {s.first_stalled:,} B", f"own threshold {said}", left=True)  # fmt: skip
    for verdict, (marker, color, label) in VERDICT_STYLE.items():
        pts = [p for p in panel.points if p.verdict is verdict and not p.proven_only and not p.by_luck]
        if pts:
            ax.plot(
                [p.size for p in pts], [p.seconds for p in pts], marker, color=color, ls="none", label=label
            )
    lucky = [p for p in panel.points if p.by_luck]
    if lucky:
        marker, color, label = BY_LUCK_STYLE
        ax.plot([p.size for p in lucky], [p.seconds for p in lucky], marker, color=color, mfc="none", mew=1.6,
                ls="none", label=label)  # fmt: skip
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
