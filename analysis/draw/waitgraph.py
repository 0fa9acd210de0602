"""The wait-for graph of a diagnosis: dots for threads, an arrow per wait. Drawn from a ``WaitGraph``."""

from __future__ import annotations

import io
import math

from joinstall.analysis.draw import axes
from joinstall.analysis.series.waitgraph import GROUPS, Edge, Node, WaitGraph
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

COLORS = {"cycle": "tab:red", "behind": "tab:orange", "blocked": "tab:blue", "live": "tab:green",
          "outside": "0.45"}  # fmt: skip
LEGEND = {
    "cycle": "on the cycle",
    "behind": "stuck behind the cycle",
    "blocked": "waits",
    "live": "live: can end a wait",
    "outside": "outside the tree",
}
#: Points between a dot's centre and where an arrow starts or ends.
GAP = 11


def draw(data: WaitGraph) -> Figure:
    fig = axes.new(9, 7.5)
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_aspect("equal")
    # Room around the outermost circle for the names beside the dots.
    reach = max((math.hypot(n.x, n.y) for n in data.nodes), default=1.0)
    ax.set_xlim(-reach - 1.1, reach + 1.1)
    ax.set_ylim(-reach - 0.6, reach + 0.6)
    ax.set_xlim(-2.9, 2.9)
    ax.set_ylim(-2.6, 2.6)
    for edge in data.edges:
        _arrow(ax, data.node(edge.source), data.node(edge.target), edge)
    for node in data.nodes:
        ax.plot(node.x, node.y, "o", ms=14, color=COLORS[node.group], zorder=3)
        _name(ax, node)
    if data.note:
        ax.text(0.5, 0.02, data.note, transform=ax.transAxes, ha="center", fontsize="small", color="0.3")
    shown = [g for g in GROUPS if any(n.group == g for n in data.nodes)]
    ax.legend(
        handles=[Line2D([], [], marker="o", ls="none", color=COLORS[g], label=LEGEND[g]) for g in shown],
        loc="upper left", fontsize="small", frameon=False,
    )  # fmt: skip
    ax.set_title(data.title, fontsize="medium")
    return fig


def _name(ax: Axes, node: Node) -> None:
    """The thread's name beside its dot, away from the centre, on two lines (thread, process)."""
    r = math.hypot(node.x, node.y)
    ux, uy = (node.x / r, node.y / r) if r else (0.0, 1.0)
    text = node.label.replace(" of ", "\nof ", 1)
    ax.text(
        node.x + 0.22 * ux, node.y + 0.22 * uy, text, fontsize="small", zorder=4,
        ha="left" if ux > 0.3 else "right" if ux < -0.3 else "center",
        va="bottom" if uy > 0.3 else "top" if uy < -0.3 else "center",
    )  # fmt: skip


def _arrow(ax: Axes, a: Node, b: Node, edge: Edge) -> None:
    color = COLORS[edge.group]
    if a.key == b.key:
        # A thread that waits for itself: a loop above its dot.
        start, end, bend, mid = (a.x - 0.1, a.y + 0.05), (a.x + 0.1, a.y + 0.05), -2.2, (a.x, a.y + 0.42)
    else:
        start, end, bend = (a.x, a.y), (b.x, b.y), 0.12
        # The label sits beside the bent arrow's middle, on the side it bends to.
        mx, my, dx, dy = (a.x + b.x) / 2, (a.y + b.y) / 2, b.x - a.x, b.y - a.y
        mid = (mx + bend * dy / 2, my - bend * dx / 2)
    ax.add_patch(
        FancyArrowPatch(
            start, end, connectionstyle=f"arc3,rad={bend}", arrowstyle="-|>", mutation_scale=16,
            color=color, lw=1.6, shrinkA=0 if a.key == b.key else GAP, shrinkB=0 if a.key == b.key else GAP,
            zorder=2,
        )
    )  # fmt: skip
    ax.text(
        *mid, edge.label, fontsize="x-small", ha="center", va="center", color=color, zorder=5,
        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
    )  # fmt: skip


def render(data: WaitGraph, fmt: str) -> bytes:
    """The figure as ``svg`` or ``png`` bytes, to be written whole (``files.write_atomic``)."""
    buf = io.BytesIO()
    draw(data).savefig(buf, format=fmt, dpi=120)
    return buf.getvalue()
