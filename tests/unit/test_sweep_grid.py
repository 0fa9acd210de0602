"""The sweep's grids, keys, configuration, multi-put records and summary: pure, no processes."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joinstall import reaper, resultsfile
from joinstall.commands import sweep as command
from joinstall.errors import UsageError
from joinstall.measure import grid, pool
from joinstall.measure import summary as sweep_summary
from joinstall.measure.measurements import MultiputResult
from joinstall.measure.multiputmap import multiput_result
from joinstall.measure.sweep import SweepConfig
from joinstall.model import pipemodel
from joinstall.observe import pipes
from joinstall.programs import seed
from joinstall.records import Mode

THRESHOLD = 65514


def test_default_grid_is_64_sizes_from_1kib_to_1mib_with_the_threshold_pair() -> None:
    sizes = grid.log_grid(dense_center=THRESHOLD)
    assert sizes[0] == 1024 and sizes[-1] == 1024 * 1024
    assert len(sizes) == 64
    assert THRESHOLD in sizes and THRESHOLD + 1 in sizes
    dense = [s for s in sizes if abs(s - THRESHOLD) <= grid.DENSE_SPAN + 1]
    assert len(dense) == grid.DENSE_POINTS


def test_log_points_are_evenly_spaced_in_log() -> None:
    sizes = grid.log_grid(1000, 1_000_000, 4)
    assert sizes == [1000, 10_000, 100_000, 1_000_000]


def test_one_point_is_the_lower_end() -> None:
    assert grid.log_grid(100, 200, 1) == [100]


def test_dense_points_outside_the_range_are_dropped() -> None:
    assert grid.log_grid(1024, 2048, 2, dense_center=THRESHOLD) == [1024, 2048]


def test_several_centres_each_get_their_pair() -> None:
    sizes = grid.log_grid(1024, 2 * 1024 * 1024, 8, dense_center=[THRESHOLD, 1048563])
    assert {THRESHOLD, THRESHOLD + 1, 1048563, 1048564} <= set(sizes)


@pytest.mark.parametrize(
    ("lo", "hi", "points", "words"),
    [
        (2048, 1024, 8, "empty or inverted"),
        (4096, 4096, 8, "empty or inverted"),
        (1024, 4096, 0, "points must be a whole number of grid points from 1"),
        (1024, 4096, 10**9, "points must be a whole number of grid points from 1"),
        (0, 4096, 8, "smallest size must be a whole number of bytes from 1"),
        (-5, 4096, 8, "smallest size must be a whole number of bytes from 1"),
        (1024, 2**40, 8, "largest size must be a whole number of bytes from 0 to"),
    ],
)
def test_bad_ranges_are_usage_errors(lo: int, hi: int, points: int, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        grid.log_grid(lo, hi, points)


def test_negative_dense_settings_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        grid.log_grid(dense_center=THRESHOLD, dense_points=-1)
    with pytest.raises(UsageError):
        grid.log_grid(dense_center=THRESHOLD, dense_span=-1)


@given(
    lo=st.integers(1, 10**6),
    width=st.integers(1, 10**7),
    points=st.integers(1, 200),
    centre=st.integers(-100, 2 * 10**7),
    dense=st.integers(0, 40),
    span=st.integers(0, 500),
)
def test_grid_is_sorted_unique_in_range_and_holds_the_pair(
    lo: int, width: int, points: int, centre: int, dense: int, span: int
) -> None:
    hi = lo + width
    sizes = grid.log_grid(lo, hi, points, centre, dense, span)
    assert sizes == sorted(set(sizes))
    assert sizes[0] == lo and (points == 1 or sizes[-1] == hi)
    assert all(lo <= s <= hi for s in sizes)
    assert len(sizes) <= points + dense
    pair = [centre, centre + 1][:dense]
    assert all(p in sizes for p in pair if lo <= p <= hi)
    # Every dense point lies within the span (the +1 is the first size that stalls).
    extra = set(sizes) - set(grid.log_grid(lo, hi, points))
    assert all(centre - span <= s <= centre + span + 1 for s in extra)


def test_put_counts_parse_lists_and_ranges() -> None:
    assert command._counts("1,2,4") == (1, 2, 4)
    assert command._counts("3-5,1, 5") == (1, 3, 4, 5)


@pytest.mark.parametrize("text", ["0", "0-3", "a", "1,,2", "", "5-3"])
def test_bad_put_counts_are_rejected(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        command._counts(text)


def test_config_dict_round_trips_through_json_and_leaves_out_jobs() -> None:
    a = SweepConfig(sizes=(1, 2), jobs=1, mode=Mode.FAITHFUL, timeout=1.0)
    b = SweepConfig(sizes=(1, 2), jobs=4, mode=Mode.FAITHFUL, timeout=1.0)
    assert a.to_dict() == b.to_dict() == json.loads(json.dumps(a.to_dict()))
    assert "jobs" not in a.to_dict() and a.to_dict()["mode"] == "faithful"
    assert a.to_dict() != SweepConfig(sizes=(1, 3)).to_dict()


def test_size_sweep_keys_are_unique_per_variant_and_size() -> None:
    config = SweepConfig(sizes=(10, 20, 30), variants=("buggy", "fixed"))
    keys = [key for key, _ in config.runs()]
    assert len(keys) == len(set(keys)) == 6
    assert "buggy:20:1" in keys and "fixed:30:1" in keys


@pytest.mark.parametrize("field", [{"jobs": 0}, {"variants": ()}, {"sizes": ()}, {"puts": (0,)}])
def test_bad_configs_are_usage_errors(field: dict[str, Any]) -> None:
    config = SweepConfig(**{"sizes": (1024,), **field})
    with pytest.raises(UsageError):
        config.validate()


def test_a_map_beyond_the_program_limit_is_refused_before_anything_runs() -> None:
    config = SweepConfig(sizes=(200 * 1024 * 1024,), puts=(1, 2))
    with pytest.raises(UsageError, match="256 MiB"):
        config.validate()


def _cells(**verdicts: str) -> dict[int, tuple[str, float]]:
    return {int(k[1:]): (v, 0.1) for k, v in verdicts.items()}


def test_multiput_result_takes_the_first_stalled_count_and_compares_with_the_model() -> None:
    config = SweepConfig(sizes=(2100,), variants=("buggy",), puts=(1, 64), python=sys.executable)
    # 17 puts of 2,100 bytes stall at 64 KiB (by page slots: 35 KiB of bytes would fit).
    predicted = pipemodel.predict_puts(sys.executable, 2100, 65536)
    assert predicted == 17
    cells = _cells(k1="ok", k16="ok", k17="stalled", k64="stalled")
    rec = multiput_result(config, "buggy", 2100, cells, predicted, "3.x")
    assert rec.measured_puts == 17 and rec.exact and rec.agree is True
    assert rec.puts_tried == (1, 16, 17, 64) and rec.most_tried == 64
    assert rec.probes == 4 and rec.seconds == pytest.approx(0.4)
    assert MultiputResult.from_record(json.loads(json.dumps(rec.to_record()))) == rec


def test_multiput_result_disagrees_when_any_count_falls_on_the_wrong_side() -> None:
    config = SweepConfig(sizes=(2100,), variants=("buggy",), puts=(1, 64), python=sys.executable)
    early = multiput_result(config, "buggy", 2100, _cells(k15="ok", k16="stalled"), 17, "3.x")
    assert early.measured_puts == 16 and early.agree is False
    # A stall that went away again at more puts is no agreement either.
    bumpy = multiput_result(config, "buggy", 2100, _cells(k16="ok", k17="stalled", k64="ok"), 17, "3.x")
    assert bumpy.agree is False
    broken = multiput_result(config, "buggy", 2100, _cells(k16="error", k17="stalled"), 17, "3.x")
    assert broken.agree is False
    sparse = multiput_result(config, "buggy", 2100, _cells(k10="ok", k20="stalled"), 17, "3.x")
    assert sparse.measured_puts == 20 and not sparse.exact


def test_multiput_result_beyond_the_counts_tried_has_no_measured_count_and_no_verdict() -> None:
    config = SweepConfig(sizes=(1000,), variants=("buggy",), puts=(1, 64), python=sys.executable)
    rec = multiput_result(config, "buggy", 1000, _cells(k1="ok", k64="ok"), 65, "3.x")
    # Nothing stalled and nothing ran where the model says it would: unknown, not agreement.
    assert rec.measured_puts is None and rec.agree is None and not rec.exact
    text = sweep_summary.multiput_text(rec.to_record())
    assert "no stall up to 64 puts, predicted 65 (unknown: no count tried reaches the prediction)" in text
    # A count at or above the prediction that did not stall is a disagreement, measured.
    missed = multiput_result(config, "buggy", 1000, _cells(k1="ok", k65="ok"), 65, "3.x")
    assert missed.measured_puts is None and missed.agree is False
    # An error among the counts is no agreement either, known or not.
    broken = multiput_result(config, "buggy", 1000, _cells(k1="error"), 65, "3.x")
    assert broken.agree is False


def test_multiput_result_for_a_fix_expects_no_stall() -> None:
    config = SweepConfig(sizes=(2100,), variants=("fixed",), puts=(1, 40))
    rec = multiput_result(config, "fixed", 2100, _cells(k1="ok", k40="ok"), None, "3.x")
    assert rec.predicted_puts is None and rec.measured_puts is None and rec.agree is True
    assert multiput_result(config, "fixed", 2100, _cells(k40="stalled"), None, "3.x").agree is False


def test_summary_lines_say_where_the_stall_began_and_that_a_tail_was_repaired() -> None:
    start = sweep_summary.StallStart("buggy", 65514, 65515, 65514)
    summary = sweep_summary.SweepSummary(
        Path("r.jsonl"), 2, 1, True, {"buggy": {"ok": 1, "stalled": 1}}, (start,), ()
    )
    text = "\n".join(summary.lines())
    assert "repaired r.jsonl" in text
    assert "buggy: 1 ok, 1 stalled; ok up to 65,514 B, stalled from 65,515 B (model: 65,514)" in text


def test_bigpipe_goes_through_the_pipe_size_policy() -> None:
    # seed.py resizes bigpipe's pipe itself; the kernel may refuse that size, up front.
    try:
        expected = pipes.capacity_for(seed.BIGPIPE_SIZE)
    except UsageError:
        with pytest.raises(UsageError, match="pipe size"):
            grid.capacity_of("bigpipe", 0)
    else:
        assert grid.capacity_of("bigpipe", 4096) == expected
    assert grid.capacity_of("buggy", 0) == pipes.default_capacity()
    assert grid.capacity_of("buggy", 8192) == 8192


def test_a_refused_pipe_size_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="out of range"):
        grid.capacity_of("buggy", 100)


def test_dense_centres_are_the_predicted_thresholds_of_the_modelled_pipes() -> None:
    assert grid.centres(sys.executable, 0, ["fixed"]) == []
    assert grid.centres(sys.executable, 8192, ["buggy", "fixed"]) == [
        pipemodel.predict_threshold(sys.executable, 8192)
    ]


def test_both_multiput_writers_write_one_shape() -> None:
    """The sweep's map and `threshold --message-size` write the same record kind the same way."""
    config = SweepConfig(sizes=(2100,), variants=("buggy",), puts=(1, 64), python=sys.executable)
    from_map = multiput_result(config, "buggy", 2100, _cells(k16="ok", k17="stalled"), 17, "3.x")
    from_search = MultiputResult(
        variant="buggy", message_size=2100, capacity=65536, measured_puts=17, predicted_puts=17,
        agree=True, exact=True, probes=2, seconds=0.2, python=sys.executable, python_version="3.x",
        start_method=None, pipe_size=0,
    )  # fmt: skip
    assert set(from_map.to_record()) == set(from_search.to_record())
    for result in (from_map, from_search):
        assert MultiputResult.from_record(json.loads(json.dumps(result.to_record()))) == result


def test_a_task_stopped_by_a_signal_ends_the_sweep_as_interrupted(tmp_path: Path) -> None:
    # A pool thread may see the signal before the main thread does: what reaches the command
    # must still be an interruption (exit 130/143), not a traceback.
    def task(emit: pool.Emit, stop: threading.Event) -> None:
        raise pool.Stopped

    with (
        resultsfile.Writer(tmp_path / "s.jsonl", {}, resume=False) as writer,
        pytest.raises(reaper.Stopping),
    ):
        pool.execute([task], writer, jobs=1, progress=False)
