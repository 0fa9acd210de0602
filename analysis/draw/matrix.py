"""Interpreter x start method: colour says agree/disagree, the text the measured threshold."""

from __future__ import annotations

from joinstall.analysis.draw import axes
from joinstall.analysis.series.matrix import MatrixCell, MatrixSeries
from joinstall.analysis.units import human_bytes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

# Light fills, so the black text in each cell stays readable.
AGREE, DISAGREE, MISSING = "#a6dba0", "#f4a582", "0.92"


def draw(data: MatrixSeries) -> Figure:
    rows, cols = data.interpreters, data.start_methods
    fig = axes.new(max(6.0, 2.2 * len(cols) + 3), max(3.5, 0.6 * len(rows) + 2))
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


def _status(cell: MatrixCell | None) -> int:
    return 0 if cell is None else 1 if cell.agree else 2


def _cell_text(cell: MatrixCell | None) -> str:
    if cell is None:
        return "not run"
    measured = f"{cell.measured:,} B" if cell.measured is not None else "no value"
    extra = "" if cell.agree else f"\npredicted {cell.predicted:,} B" if cell.predicted is not None else "\n?"
    more = f"\n({cell.records} records)" if cell.records > 1 else ""
    return measured + extra + more
