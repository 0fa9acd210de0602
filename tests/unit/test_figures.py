"""What the figures draw: the data of their lines, where the markers sit, and their labels.

Pure: the records are built here, nothing is run. Each test compares the artists on the axes
with the records it started from, so a figure that plots the wrong numbers fails.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from joinstall.analysis import figures, registry, sections
from joinstall.analysis.draw import multiput as draw_multiput
from joinstall.analysis.draw import thresholds as draw_thresholds
from joinstall.analysis.draw import timeouts as draw_timeouts
from joinstall.analysis.draw.timeouts import PROVEN_LABEL, VERDICT_STYLE
from joinstall.analysis.records import MultiputRecord, Results, RunRecord, ThresholdRecord
from joinstall.analysis.series import thresholds as threshold_series
from joinstall.analysis.series import timeouts as timeout_series
from joinstall.analysis.series.thresholds import threshold_at
from joinstall.observe.verdict import Verdict
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

T = 2.0


def run(
    variant: str, size: int, verdict: Verdict, join_s: float | None = None, mode: str = "fast",
    capacity: int | None = 65536, puts: int = 1, timeout: float = T,
) -> RunRecord:  # fmt: skip
    proven_only = verdict is Verdict.STALLED and mode == "fast"
    return RunRecord(
        variant=variant, size=size, puts=puts, mode=mode, timeout=timeout, pipe_size=0, start_method="fork",
        python_version="3.11.7", verdict=verdict, verdict_s=0.1, join_s=None if proven_only else join_s,
        join_would_return_at=timeout if proven_only else None, capacity=capacity, diagnosis=None,
    )  # fmt: skip


def threshold(
    capacity: int, measured: int, predicted: int, version: str = "3.11.7", method: str = "fork"
) -> ThresholdRecord:
    return ThresholdRecord(
        "python", version, method, capacity, capacity, 1, measured, predicted, measured == predicted, 2, 0.5
    )


def results(
    runs: tuple[RunRecord, ...] = (), thresholds: tuple[ThresholdRecord, ...] = (),
    multiputs: tuple[MultiputRecord, ...] = (), matrix: tuple[ThresholdRecord, ...] = (),
) -> Results:  # fmt: skip
    meta = {"kind": "meta", "page_size": 4096, "pipe_capacity": 65536}
    return Results((Path("r.jsonl"),), (meta,), runs, thresholds, multiputs, matrix, (), ())


def lines(ax: Axes, label: str) -> list[Line2D]:
    return [line for line in ax.lines if line.get_label() == label]


def only(ax: Axes, label: str) -> Line2D:
    (line,) = lines(ax, label)
    return line


def xy(line: Line2D) -> list[tuple[float, float]]:
    return list(zip(np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float), strict=True))


def panel(fig: Figure, title_start: str) -> Axes:
    (ax,) = [a for a in fig.axes if a.get_title().startswith(title_start)]
    return ax


def texts(ax: Axes) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


SWEEP = (
    run("buggy", 1024, Verdict.OK, 0.008),
    run("buggy", 65514, Verdict.OK, 0.007),
    run("buggy", 65515, Verdict.STALLED),
    run("buggy", 1 << 20, Verdict.STALLED),
    run("buggy", 1 << 18, Verdict.STALLED, 2.002, mode="faithful"),
    run("fixed", 1024, Verdict.OK, 0.001),
    run("fixed", 1 << 20, Verdict.OK, 0.002),
    run("cancel_join_thread", 1 << 20, Verdict.DATA_LOSS, 0.01),
    # A false fix that ended ok: a race it won this time, not a fix.
    run("cancel_join_thread", 1024, Verdict.OK, 0.009),
    # A multi-message run has another x quantity: it must stay out of this figure.
    run("buggy", 40000, Verdict.STALLED, puts=17),
)


def test_timeouts_places_measured_and_proven_points_where_join_returned() -> None:
    fig, data = figures.timeouts(results(SWEEP, thresholds=(threshold(65536, 65514, 65514),)))
    buggy = panel(fig, "buggy [bug]")
    assert xy(only(buggy, VERDICT_STYLE[Verdict.OK][2])) == [(1024, 0.008), (65514, 0.007)]
    # Fast-mode stalls were stopped at proof: drawn at T, with their own marker and label.
    proven = only(buggy, PROVEN_LABEL)
    assert xy(proven) == [(65515, T), (1 << 20, T)]
    assert proven.get_marker() == "v" and proven.get_markerfacecolor() == "none"
    # A faithful stall is a measurement: drawn like the other measured points, at its join time.
    measured_stall = only(buggy, VERDICT_STYLE[Verdict.STALLED][2])
    assert xy(measured_stall) == [(1 << 18, 2.002)] and measured_stall.get_marker() != proven.get_marker()
    assert data.multi_put_runs == 1
    assert all(p.size != 40000 for pnl in data.panels for p in pnl.points)


def test_timeouts_marks_the_timeout_the_capacity_and_the_measured_threshold() -> None:
    fig, _ = figures.timeouts(results(SWEEP, thresholds=(threshold(65536, 65514, 65514),)))
    for ax in (panel(fig, "buggy"), panel(fig, "fixed")):
        assert list(only(ax, f"join timeout T = {T:g} s").get_ydata()) == [T, T]
        assert list(only(ax, "pipe capacity 65,536 B").get_xdata()) == [65536, 65536]
        label = "measured threshold 65,514 B (largest payload that does not stall)"
        assert list(only(ax, label).get_xdata()) == [65514, 65514]
        assert ax.get_xscale() == "log"
    assert panel(fig, "buggy").get_ylabel() == "time until join() returns (s)"
    assert fig.axes[-1].get_xlabel() == "payload size (bytes, log scale)"
    legend = {t.get_text() for leg in fig.legends for t in leg.get_texts()}
    assert PROVEN_LABEL in legend and f"join timeout T = {T:g} s" in legend


def test_timeouts_puts_buggy_and_fixed_first_then_the_other_variants_present() -> None:
    fig, data = figures.timeouts(results(SWEEP))
    assert [p.variant for p in data.panels] == ["buggy", "fixed", "cancel_join_thread"]
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()][:3] == [
        "buggy [bug]", "fixed [fix]", "cancel_join_thread [false fix]",
    ]  # fmt: skip
    data_loss = only(panel(fig, "cancel_join_thread"), VERDICT_STYLE[Verdict.DATA_LOSS][2])
    assert xy(data_loss) == [(1 << 20, 0.01)]


def test_a_false_fix_that_ended_ok_is_drawn_as_luck_in_the_data_loss_colours() -> None:
    fig, data = figures.timeouts(results(SWEEP))
    ax = panel(fig, "cancel_join_thread")
    marker, color, label = draw_timeouts.BY_LUCK_STYLE
    lucky = only(ax, label)
    assert xy(lucky) == [(1024, 0.009)] and registry.OK_BY_LUCK in label
    # The data-loss colour, open: never the green of a run that is really ok.
    assert lucky.get_color() == VERDICT_STYLE[Verdict.DATA_LOSS][1] == color and lucky.get_marker() == marker
    assert lucky.get_markerfacecolor() == "none"
    assert not lines(ax, VERDICT_STYLE[Verdict.OK][2])
    assert data.by_luck == 1
    legend = {t.get_text() for leg in fig.legends for t in leg.get_texts()}
    assert label in legend
    # An ok run of the bug or the fix is not luck: it keeps the green.
    assert not lines(panel(fig, "buggy"), label) and lines(panel(fig, "fixed"), VERDICT_STYLE[Verdict.OK][2])


def test_popen_wait_gets_its_own_switch_not_the_queue_pipes_threshold() -> None:
    runs = (
        run("popen_wait", 65514, Verdict.OK, 0.01),
        run("popen_wait", 65515, Verdict.STALLED),
        run("popen_wait", 1 << 20, Verdict.STALLED),
        run("buggy", 65515, Verdict.STALLED),
    )
    fig, data = figures.timeouts(results(runs, (threshold(65536, 65514, 65514),)))
    ax = panel(fig, "popen_wait")
    labels = [str(line.get_label()) for line in ax.lines]
    # The threshold records measure the queue pipe; popen_wait also stalls in its subprocess's
    # stdout pipe, which they do not measure: its line comes from its own runs.
    assert not [label for label in labels if label.startswith("measured threshold")]
    assert list(only(ax, "pipe capacity 65,536 B").get_xdata()) == [65536, 65536]
    own = only(ax, "its own runs: ok up to 65,514 B, stalled from 65,515 B")
    assert list(own.get_xdata()) == [65514, 65514]
    (pnl,) = [p for p in data.panels if p.variant == "popen_wait"]
    assert pnl.threshold is None and pnl.switch is not None and pnl.switch.exact
    # The queue pipe's threshold still belongs to the bug's panel.
    assert lines(panel(fig, "buggy"), "measured threshold 65,514 B (largest payload that does not stall)")


def test_timeouts_without_a_fixed_variant_says_so_in_the_figure() -> None:
    buggy_only = tuple(r for r in SWEEP if r.variant == "buggy")
    fig, data = figures.timeouts(results(buggy_only))
    assert not data.has_fixed
    fixed = panel(fig, "fixed")
    assert "no single-message runs of the fixed variant" in texts(fixed)
    assert not [line for line in fixed.lines if line.get_marker() not in ("None", None, "")]


def test_timeouts_of_no_runs_at_all_still_draws_both_empty_panels() -> None:
    fig, data = figures.timeouts(results())
    assert [p.variant for p in data.panels] == ["buggy", "fixed"]
    assert "no single-message runs of the buggy variant" in texts(panel(fig, "buggy"))


def test_no_threshold_line_for_a_variant_without_a_queue_pipe() -> None:
    fig, _ = figures.timeouts(
        results((run("manager", 1 << 20, Verdict.OK, 0.02),), (threshold(65536, 65514, 65514),))
    )
    assert not [line for line in panel(fig, "manager").lines if "threshold" in str(line.get_label())]


def test_thresholds_puts_measured_points_on_the_predicted_line() -> None:
    recs = (threshold(4096, 4074, 4074), threshold(65536, 65514, 65514), threshold(1 << 20, 1048560, 1048563))
    fig, data = figures.thresholds(results(thresholds=recs))
    left, right = fig.axes
    label = "Python 3.11.7, fork"
    assert xy(only(left, f"predicted ({label})")) == [(4096, 4074), (65536, 65514), (1 << 20, 1048563)]
    assert xy(only(left, f"measured, agrees ({label})")) == [(4096, 4074), (65536, 65514)]
    wrong = only(left, f"measured, DISAGREES ({label})")
    assert xy(wrong) == [(1 << 20, 1048560)] and wrong.get_marker() == "X"
    # The right panel shows what besides the payload must fit: header and pickle framing.
    assert xy(only(right, f"measured, agrees ({label})")) == [(4096, 22), (65536, 22)]
    assert xy(only(right, f"measured, DISAGREES ({label})")) == [(1 << 20, 16)]
    assert left.get_xscale() == "log" and "pipe capacity" in left.get_xlabel()
    assert data.groups[0].agree == (True, True, False)


def test_thresholds_keep_one_series_per_interpreter_and_start_method() -> None:
    recs = (threshold(65536, 65514, 65514), threshold(65536, 65514, 65514, "3.8.18", "spawn"))
    fig, _ = figures.thresholds(results(thresholds=recs))
    labels = {str(line.get_label()) for line in fig.axes[0].lines}
    assert {"predicted (Python 3.11.7, fork)", "predicted (Python 3.8.18, spawn)"} <= labels


def multiput(size: int, measured: int | None, predicted: int | None, exact: bool = True) -> MultiputRecord:
    agree = None if predicted is None else measured == predicted
    return MultiputRecord(
        variant="buggy", message_size=size, capacity=65536, measured_puts=measured,
        predicted_puts=predicted, agree=agree, exact=exact, probes=1, seconds=0.1, python="python",
        python_version="3.11.7", start_method="fork", pipe_size=0,
        puts_tried=(1, 32) if measured is None else (),
    )  # fmt: skip


def test_multiput_draws_measured_points_the_slot_model_and_the_byte_model() -> None:
    recs = (
        multiput(100, None, 545),
        multiput(2100, 17, 17),
        multiput(4100, 11, 11),
        multiput(16000, 6, 5, False),
    )
    fig, data = figures.multiput(results(multiputs=recs))
    ax = fig.axes[0]
    who = "buggy, 64 KiB pipe"
    assert xy(only(ax, f"measured ({who})")) == [(2100, 17), (4100, 11)]
    bound = only(ax, f"measured upper bound, DISAGREES ({who})")
    assert xy(bound) == [(16000, 6)] and bound.get_markerfacecolor() == "none"
    assert xy(only(ax, f"no stall up to this many puts, the most tried ({who})")) == [(100, 32)]
    assert xy(only(ax, f"prediction stored with the measurement ({who})"))[0] == (100, 545)
    # The dense models: at 2,100-byte messages the slots run out at the 17th put, while a pipe
    # that counted bytes would take about 30 of them.
    slot, byte = (
        only(ax, "page-slot model (64 KiB pipe)"),
        only(ax, draw_multiput.BYTE_MODEL_LABEL.format(cap="64 KiB")),
    )
    (model,) = data.models
    assert list(slot.get_xdata()) == list(model.sizes) and list(byte.get_ydata()) == list(model.byte_puts)
    at = max(i for i, s in enumerate(model.sizes) if s <= 2100)
    assert model.slot_puts[at] == 17 and model.byte_puts[at] >= 30
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "puts until the stall (log scale)"


def test_multiput_without_records_says_so() -> None:
    fig, data = figures.multiput(results())
    assert not data.curves and "no multiput records" in texts(fig.axes[0])


def test_matrix_colours_agreement_and_writes_the_measured_value_in_each_cell() -> None:
    cells = (
        threshold(65536, 65514, 65514, "3.8.18", "fork"),
        threshold(65536, 65514, 65514, "3.11.7", "spawn"),
        threshold(65536, 65513, 65514, "3.11.7", "fork"),
    )
    fig, data = figures.matrix(results(matrix=cells))
    ax = fig.axes[0]
    assert data.interpreters == ("3.8.18", "3.11.7") and data.start_methods == ("fork", "spawn")
    assert ax.get_title().endswith("per interpreter and start method, 64 KiB pipe")
    (image,) = ax.images
    assert np.asarray(image.get_array()).tolist() == [[1, 0], [2, 1]]
    cell_text = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert ((0, 0), "65,514 B") in cell_text and ((1, 0), "not run") in cell_text
    assert ((0, 1), "65,513 B\npredicted 65,514 B") in cell_text
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Python 3.8.18", "Python 3.11.7"]
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {
        "measured = predicted",
        "disagrees",
        "not run",
    }


@pytest.mark.parametrize("name", ["timeouts", "thresholds", "multiput", "matrix"])
def test_every_figure_saves_as_png_and_svg_whole(tmp_path: Path, name: str) -> None:
    data = results(
        SWEEP, (threshold(65536, 65514, 65514),), (multiput(2100, 17, 17),), (threshold(65536, 1, 1),)
    )
    fig, _ = getattr(figures, name)(data)
    png, svg = figures.save(fig, tmp_path, name)
    assert png.read_bytes().startswith(b"\x89PNG") and b"<svg" in svg.read_bytes()[:500]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.png", f"{name}.svg"]


def test_series_threshold_at_picks_the_capacity_of_the_run() -> None:
    recs = (threshold(4096, 4074, 4074), threshold(65536, 65514, 65514))
    assert threshold_at(recs, 65536) == 65514 and threshold_at(recs, 8192) is None


# --- data first, drawing second ------------------------------------------------------------

DRAW = Path(draw_timeouts.__file__).parent


@pytest.mark.parametrize("name", ["timeouts", "thresholds", "multiput", "matrix"])
def test_a_drawing_reads_its_series_alone(name: str) -> None:
    tree = ast.parse((DRAW / f"{name}.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    # No records, no model, no computing: whatever it shows, the series computed.
    assert not {m for m in imported if m and m.startswith(("joinstall.analysis.records", "joinstall.model"))}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "compute"]
    (draw,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "draw"]
    (arg,) = draw.args.args
    assert isinstance(arg.annotation, ast.Name) and arg.annotation.id.endswith("Series")


def test_the_overhead_panel_draws_what_the_series_computed() -> None:
    recs = (threshold(4096, 4074, 4074), threshold(65536, 65514, 65515))
    data = threshold_series.compute(results(thresholds=recs))
    (group,) = data.groups
    assert group.measured_overhead == (22, 22) and group.predicted_overhead == (22, 21)
    # A drawing that worked out capacity - threshold itself would not show these numbers.
    told = dataclasses.replace(group, measured_overhead=(30, 40), predicted_overhead=(31, 41))
    fig = draw_thresholds.draw(dataclasses.replace(data, groups=(told,)))
    right = fig.axes[1]
    assert xy(only(right, "measured, agrees (Python 3.11.7, fork)")) == [(4096, 30)]
    assert xy(only(right, "predicted (Python 3.11.7, fork)")) == [(4096, 31), (65536, 41)]


def test_the_timeouts_axes_span_what_the_series_says() -> None:
    data = timeout_series.compute(results(SWEEP, thresholds=(threshold(65536, 65514, 65514),)))
    assert data.size_span == (1024, 1 << 20)
    fig = draw_timeouts.draw(dataclasses.replace(data, size_span=(4096, 1 << 22)))
    for ax in (a for a in fig.axes if a.get_visible()):
        assert ax.get_xlim() == pytest.approx((4096 / 1.3, (1 << 22) * 1.3))


# --- one join timeout per panel ----------------------------------------------------------------

MIXED = (
    run("buggy", 1024, Verdict.OK, 0.01, mode="faithful", timeout=1.0),
    run("buggy", 1 << 20, Verdict.STALLED, 1.002, mode="faithful", timeout=1.0),
    run("buggy", 1024, Verdict.OK, 0.01, timeout=10.0),
    run("buggy", 1 << 20, Verdict.STALLED, timeout=10.0),
    run("fixed", 1 << 20, Verdict.OK, 0.02, mode="faithful", timeout=1.0),
    run("fixed", 1 << 20, Verdict.OK, 0.02, timeout=10.0),
)


def test_runs_of_different_join_timeouts_never_share_a_panel() -> None:
    fig, data = figures.timeouts(results(MIXED))
    assert data.timeouts == (1.0, 10.0)
    assert [(p.variant, p.timeout) for p in data.panels] == [
        ("buggy", 1.0), ("buggy", 10.0), ("fixed", 1.0), ("fixed", 10.0),
    ]  # fmt: skip
    by_run = {(r.variant, r.size, r.timeout) for r in MIXED}
    for pnl in data.panels:
        assert all((pnl.variant, p.size, pnl.timeout) in by_run for p in pnl.points)
    for t in (1.0, 10.0):
        ax = panel(fig, f"buggy [bug], T = {t:g} s")
        (line,) = [x for x in ax.lines if str(x.get_label()).startswith("join timeout T")]
        assert list(line.get_ydata()) == [t, t]
        # Its own scale: a stall at T = 1 s is not squashed under a T = 10 s axis.
        assert ax.get_ylim() == pytest.approx((-0.04 * t, 1.18 * t))
    assert "2 join timeouts (T = 1 s, 10 s); each panel holds the runs of one" in sections.timeouts(data, {})


def test_one_join_timeout_keeps_the_plain_titles() -> None:
    _, data = figures.timeouts(results(SWEEP))
    assert data.timeouts == (T,) and [p.title for p in data.panels][:2] == ["buggy [bug]", "fixed [fix]"]
