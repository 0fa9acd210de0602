"""Puts until the stall vs message size: page slots make steps a byte count would not."""

from __future__ import annotations

from joinstall.analysis.draw import axes
from joinstall.analysis.series.multiput import MultiputSeries
from joinstall.analysis.units import human_bytes
from matplotlib.figure import Figure

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


def draw(data: MultiputSeries) -> Figure:
    fig = axes.new(10, 5.5)
    ax = fig.subplots()
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
    axes.bytes_axis(ax, "x", *data.size_span)
    ax.set_yscale("log")
    ax.set_xlabel("payload bytes per message (log scale)")
    ax.set_ylabel("puts until the stall (log scale)")
    ax.grid(True, which="both", alpha=0.3)
    if data.curves:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no multiput records in these results", transform=ax.transAxes, ha="center")
    ax.set_title(
        f"Many messages: the pipe fills by {human_bytes(data.page_size)} page slots, so messages of a few"
        " KiB stall well before their bytes add up to the capacity",
        fontsize="medium", wrap=True,
    )  # fmt: skip
    return fig
