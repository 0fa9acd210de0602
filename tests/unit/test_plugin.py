"""The plugin's pure parts: option values and where a bad one came from; trimming stacks; the
lines between pytest and its monitor process."""

from __future__ import annotations

import os
import time

import pytest
from joinstall.plugin import client, monitor, report, settings

STACKS = """MainThread (tid 10, idle)
    Popen.wait (multiprocessing/popen_fork.py:43)
    test_stall (test_x.py:8)
    pytest_pyfunc_call (_pytest/python.py:187)
    _multicall (pluggy/_execution.py:147)
joinstall monitor (tid 11, idle)
    Condition.wait (threading.py:327)
ThreadPoolExecutor-0_0 (tid 12, idle)
    capture_stacks (joinstall/engine/api.py:83)
worker (tid 13, idle)
    run (test_x.py:3)"""


def test_trim_keeps_the_test_s_frames_and_threads_only() -> None:
    assert report.trim(STACKS, frozenset({11})).splitlines() == [
        "MainThread (tid 10, idle)",
        "    Popen.wait (multiprocessing/popen_fork.py:43)",
        "    test_stall (test_x.py:8)",
        "worker (tid 13, idle)",
        "    run (test_x.py:3)",
    ]


@pytest.mark.parametrize("text", ["true", "Yes", "1", "on", True])
def test_true_values(text: object) -> None:
    assert settings._boolean(text, "here") is True


@pytest.mark.parametrize("value", ["0", "-1", "abc", "61", "nan", None])
def test_a_bad_interval_names_its_source(value: object) -> None:
    with pytest.raises(pytest.UsageError, match=r"from --joinstall-interval: use seconds"):
        settings._interval(value, "--joinstall-interval")


def test_a_bad_boolean_names_its_source() -> None:
    with pytest.raises(pytest.UsageError, match=r"Invalid joinstall value 'maybe' from the ini file"):
        settings._boolean("maybe", "the ini file")


def _monitor() -> tuple[monitor.Monitor, int, int]:
    ctrl_r, ctrl_w = os.pipe()
    result_r, result_w = os.pipe()
    m = monitor.Monitor(os.getpid(), ctrl_r, result_w, 0)
    return m, ctrl_w, result_r


def test_the_monitor_arms_for_one_test_and_samples_nothing_before_one_interval() -> None:
    m, ctrl, result = _monitor()
    before = time.monotonic()
    os.write(ctrl, f"B 11 12\nA 3 100 0.25 1 {before!r}\n".encode())
    assert m.pump(1.0)
    assert m.bystanders == {11, 12}
    assert m.phase is not None and m.phase.seq == 3 and m.phase.tid == 100 and m.phase.stacks
    assert m.phase.due == before + 0.25 and m.phase.watcher is None
    os.write(ctrl, b"D 2\n")  # a stale disarm leaves the test armed
    assert m.pump(1.0) and m.phase is not None
    os.write(ctrl, b"D 3\n")
    assert m.pump(1.0) and m.phase is None
    os.close(ctrl)
    assert not m.pump(1.0)  # EOF: pytest has gone, and so does the monitor
    for fd in (m.ctrl, m.result, result):
        os.close(fd)


def test_a_long_interval_still_reads_the_pipe_often() -> None:
    # pytest-timeout's request for the view is answered within the client's VIEW_WAIT.
    m, ctrl, result = _monitor()
    os.write(ctrl, f"A 1 100 30 1 {time.monotonic()!r}\n".encode())
    assert m.pump(1.0)
    assert m.phase is not None and m.phase.interval == 30
    assert m.tick == monitor.MAX_TICK < client.VIEW_WAIT
    for fd in (ctrl, m.ctrl, m.result, result):
        os.close(fd)


def test_a_test_costs_the_monitor_two_short_writes() -> None:
    c = client.Client()
    r, w = os.pipe()
    c.proc, c.ctrl, c.main_tid = object(), w, 100  # type: ignore[assignment]
    s = settings.Settings(True, 0.05, True)
    for _ in range(3):
        record = c.arm(s)
        c.disarm(record)
    lines = os.read(r, 4096).decode().splitlines()
    # The runner's threads are told once (and again only when the thread count changes).
    assert [line.split()[0] for line in lines] == ["B", "A", "D", "A", "D", "A", "D"]
    assert lines[1].startswith("A 1 100 0.05 1 ") and lines[-1] == "D 3"
    c.proc = None
    os.close(r)
    os.close(w)
