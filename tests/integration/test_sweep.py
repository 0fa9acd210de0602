"""`joinstall sweep` with real runs: the threshold on a grid, resuming, repair, bad input."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from joinstall import resultsfile
from joinstall.measure import grid, sweep
from joinstall.measure.pool import run_key
from joinstall.model import pipemodel
from joinstall.observe import pipes

from tests.integration.helpers import joinstall, started, usage_error, wait_gone

pytestmark = pytest.mark.integration

#: Small enough to run in a few seconds, big enough that a kill lands in the middle.
SMALL = ["--lo", "1KiB", "--hi", "1MiB", "--points", "16", "--dense", "0", "-j", "2", "--no-progress"]
#: The same grid, faithful with join(2 s), for tests that stop a sweep midway: its first rows
#: are the nine buggy sizes below 64 KiB, which join at once; the seven from 64 KiB up then
#: stall for 2 s each, two at a time, so after its first rows the sweep has at least 7 s to go
#: and cannot end before the test stops it, however fast the machine.
SLOW = [*SMALL, "--faithful", "--timeout", "2"]


def _runs(path: Path) -> list[dict[str, Any]]:
    _, recs, torn = resultsfile.read(path)
    assert not torn, f"{path} ends in a torn line"
    return [r for r in recs if r["kind"] == "run"]


def _run_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b'"kind": "run"')
    except FileNotFoundError:
        return 0


def _assert_complete(path: Path, sizes: list[int], names: tuple[str, ...] = ("buggy", "fixed")) -> None:
    runs = _runs(path)
    keys = [r["key"] for r in runs]
    assert len(keys) == len(set(keys)), "a resumed sweep wrote a run twice"
    assert set(keys) == {run_key(v, s, 1) for v in names for s in sizes}


@pytest.mark.timeout(90)
def test_buggy_stalls_exactly_above_the_threshold_and_fixed_never(tmp_path: Path) -> None:
    threshold = pipemodel.predict_threshold(sys.executable, pipes.default_capacity())
    sizes = grid.log_grid(65000, 66000, 3, dense_center=threshold, dense_points=6, dense_span=3)
    out = tmp_path / "sweep.jsonl"
    summary = sweep.run_sweep(sweep.SweepConfig(sizes=tuple(sizes)), out, progress=False)

    verdicts = {
        (r["result"]["spec"]["variant"], r["result"]["spec"]["size"]): r["result"]["verdict"]
        for r in _runs(out)
    }
    assert {s: verdicts["buggy", s] for s in sizes} == {
        s: "stalled" if s > threshold else "ok" for s in sizes
    }
    assert {verdicts["fixed", s] for s in sizes} == {"ok"}
    buggy = next(s for s in summary.stalls if s.variant == "buggy")
    assert (buggy.last_ok, buggy.first_stalled, buggy.predicted) == (threshold, threshold + 1, threshold)
    assert summary.ran == 2 * len(sizes) and summary.counts["fixed"] == {"ok": len(sizes)}
    # Every stall was proven from /proc, not inferred from a timeout.
    assert all(r["result"]["proof"] for r in _runs(out) if r["result"]["verdict"] == "stalled")


@pytest.mark.timeout(120)
def test_a_sweep_killed_midway_resumes_without_duplicates_or_torn_rows(tmp_path: Path) -> None:
    out = tmp_path / "sweep.jsonl"
    argv = [sys.executable, "-m", "joinstall", "sweep", "-o", str(out), *SLOW]
    with started(*argv) as proc:
        deadline = time.monotonic() + 60
        while _run_lines(out) < 4:
            assert proc.poll() is None, (
                f"the sweep ended before it could be killed: {proc.stderr and proc.stderr.read()}"
            )
            assert time.monotonic() < deadline, "the sweep wrote no runs within 60 s"
            time.sleep(0.005)
        # Freeze it so that no new run starts, note every process of it, then kill it hard.
        os.kill(proc.pid, signal.SIGSTOP)
        tree = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # The reaper's watchdogs (still alive in the sweep's group) kill the runs it left.
        assert wait_gone(tree, timeout=15) == [], "processes of a killed sweep survived it"
    _, recs, _ = resultsfile.read(out)
    before = sum(r["kind"] == "run" for r in recs)
    assert 4 <= before < 32

    done = joinstall("sweep", "-o", str(out), *SLOW, timeout=90)
    assert done.returncode == 0, done.stderr
    assert f"{before} grid points were already in" in done.stdout
    _assert_complete(out, grid.log_grid(1024, 1024 * 1024, 16))


@pytest.mark.timeout(90)
def test_a_torn_last_line_is_repaired_and_reported(tmp_path: Path) -> None:
    out = tmp_path / "sweep.jsonl"
    args = ["sweep", "-o", str(out), "--lo", "60000", "--hi", "70000", "--points", "3", "--dense", "0"]
    assert joinstall(*args, "--no-progress").returncode == 0
    lines = out.read_bytes().splitlines(keepends=True)
    # Cut the last record in half, as a crash in the middle of its write would.
    out.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    lost = json.loads(lines[-1])["key"]

    done = joinstall(*args, "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "its last line was torn" in done.stdout and "repaired" in done.stdout
    assert "1 runs done; 5 grid points were already in" in done.stdout
    _assert_complete(out, grid.log_grid(60000, 70000, 3))
    assert [r["key"] for r in _runs(out)][-1] == lost


@pytest.mark.timeout(90)
def test_the_multiput_map_measures_the_first_stalling_count_next_to_the_prediction(tmp_path: Path) -> None:
    out = tmp_path / "map.jsonl"
    done = joinstall(
        "sweep", "-o", str(out), "--puts", "1,8,32", "--lo", "2100", "--hi", "8000", "--points", "2",
        "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    maps = {r["message_size"]: r for r in resultsfile.records(out, "multiput")}
    runs = {r["key"]: r["result"]["verdict"] for r in _runs(out)}
    assert set(maps) == {2100, 8000}
    for size, rec in maps.items():
        assert rec["predicted_puts"] == pipemodel.predict_puts(sys.executable, size, 65536)
        assert rec["exact"] and rec["agree"] is True, rec
        assert rec["measured_puts"] == rec["predicted_puts"]
        # The count just below was really run (its run record is in the file) and did not stall.
        below = rec["measured_puts"] - 1
        assert below in rec["puts_tried"] and runs[run_key("buggy", size * below, below)] == "ok"
    assert maps[2100]["measured_puts"] == 17
    assert "2,100 B messages: stalls at 17 puts, predicted 17 (agrees)" in done.stdout


@pytest.mark.timeout(60)
def test_resuming_with_another_configuration_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "sweep.jsonl"
    grid = ["--lo", "1KiB", "--points", "2", "--dense", "0", "--no-progress"]
    assert joinstall("sweep", "-o", str(out), *grid, "--hi", "2KiB").returncode == 0
    kept = out.read_bytes()
    done = joinstall("sweep", "-o", str(out), *grid, "--hi", "4KiB")
    assert "different configuration" in usage_error(done)
    assert out.read_bytes() == kept, "a refused resume must not touch the file"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--lo", "2MiB", "--hi", "1MiB"], "empty or inverted"),
        (["--lo", "4KiB", "--hi", "4KiB"], "empty or inverted"),
        (["--points", "0"], "argument --points: must be"),
        (["--puts", "0"], "argument --puts: every count must be"),
        (["--pipe-size", "3GiB"], "pipe size"),
        (["--variants", "buggy,nope"], "unknown variant 'nope'"),
        (["-j", "0"], "argument -j/--jobs: must be"),
    ],
    ids=["inverted", "empty", "zero-points", "zero-puts", "refused-pipe", "variant", "jobs"],
)
def test_bad_input_is_one_line_exit_2_and_starts_nothing(
    tmp_path: Path, extra: list[str], words: str
) -> None:
    out = tmp_path / "sweep.jsonl"
    done = joinstall("sweep", "-o", str(out), *extra)
    assert words in usage_error(done)
    assert not out.exists(), "nothing may be written before the input is checked"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["under-a-file", "a-directory"])
def test_an_unwritable_output_path_exits_2_before_any_run(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a directory\n")
    out = blocker / "sweep.jsonl" if where == "under-a-file" else tmp_path
    done = joinstall("sweep", "-o", str(out), "--lo", "1KiB", "--hi", "2KiB", "--points", "2")
    assert str(out) in usage_error(done)
    assert "runs done" not in done.stdout


@pytest.mark.timeout(60)
def test_ctrl_c_stops_the_sweep_with_130_keeps_whole_rows_and_leaves_no_process(tmp_path: Path) -> None:
    out = tmp_path / "sweep.jsonl"
    argv = [sys.executable, "-m", "joinstall", "sweep", "-o", str(out), *SLOW]
    ours = {c.pid for c in psutil.Process().children(recursive=True)}
    with started(*argv) as proc:
        ours.add(proc.pid)
        deadline = time.monotonic() + 30
        while _run_lines(out) < 2:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert proc.stderr is not None
        assert "interrupted; all processes it started were reaped" in proc.stderr.read()
    runs = _runs(out)
    assert 2 <= len(runs) < 32
    # Orphans of the sweep would be re-parented to this (subreaper) process: there are none.
    left = [c.pid for c in psutil.Process().children(recursive=True) if c.pid not in ours]
    assert wait_gone(left, timeout=5) == []
