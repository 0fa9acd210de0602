"""The plugin's pure parts: option values and where a bad one came from; trimming stacks; the
lines between pytest and its monitor process; a timeout's words; saved files' names."""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import subprocess
import time
from pathlib import Path

import pytest
from joinstall.commands import watch
from joinstall.engine.diagnosis import Diagnosis, ThreadInfo, Verdict
from joinstall.plugin import client, monitor, report, saving, settings

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
    # A timeout's request is read within MAX_TICK, while pytest waits in its handler.
    m, ctrl, result = _monitor()
    os.write(ctrl, f"A 1 100 30 1 {time.monotonic()!r}\n".encode())
    assert m.pump(1.0)
    assert m.phase is not None and m.phase.interval == 30
    assert m.tick == monitor.MAX_TICK < client.TIMEOUT_WAIT
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


HANDLER = """MainThread (tid 10, idle)
    Client._pump (joinstall/plugin/client.py:300)
    Client.at_timeout (joinstall/plugin/client.py:460)
    on_alarm (joinstall/plugin/client.py:420)
    Popen.wait (subprocess.py:1264)
    test_x (test_x.py:5)
    pytest_pyfunc_call (_pytest/python.py:187)
Thread-1 (tid 12, idle)
    pytest_runtest_makereport (repro/plugin/hooks.py:122)
    _multicall (pluggy/_execution.py:147)"""


def test_trim_leaves_out_the_handler_that_asked_for_the_stacks() -> None:
    # Above the test's frames (innermost first): the timeout's handler; a thread with nothing
    # but joinstall's and pytest's frames says nothing.
    assert report.trim(HANDLER, frozenset()).splitlines() == [
        "MainThread (tid 10, idle)",
        "    Popen.wait (subprocess.py:1264)",
        "    test_x (test_x.py:5)",
    ]


def _thread(pid: int, tid: int, process: str, what: str, wait: str = "live") -> ThreadInfo:
    name = "main thread" if pid == tid else f"thread {tid}"
    return ThreadInfo(pid, tid, process, name, "S", "recvfrom", "wait", wait, what, False)


VIEW = Diagnosis(
    verdict=Verdict.BLOCKED, root=10, summary="threads wait, but the cycle is not closed", cycle=(),
    behind=(),
    breaker="the main thread of parent 10 waits in wait4(20); but child 20 waits on a socket: live, not hung",
    until=None, fix="", pipes=(), stuck_pids=(), samples=3, seconds=0.2,
    threads=(
        _thread(10, 10, "parent 10", "wait4(20)", "exit"),
        _thread(10, 11, "parent 10", "read(fd 3) on pipe:[1]", "pipe_read"),
        _thread(20, 20, "child 20", "recvfrom(fd 5) on a TCP connection to 10.1.2.3:5432, outside the tree"),
    ),
    stacks={"10": HANDLER, "20": "MainThread (tid 20, idle)\n    reader (test_x.py:2)"},
    missing=("process 30: not permitted; run as root",),
)  # fmt: skip


def test_a_timeout_says_not_proven_and_what_each_thread_of_each_process_waits_on() -> None:
    text = report.not_proven(
        VIEW, stacks=True, killed=["20 (python)", "31 (sleep)"], runner=10, bystanders=[11]
    )
    assert "Not a hang" not in text and "live, not hung" not in text
    assert text.splitlines()[:5] == [
        "Not proven: the test's threads waited, but no closed wait-for cycle was seen: something outside the",
        "            cycle could still end the wait. What each thread waited on:",
        "  parent 10 (pytest):",
        "    main thread: wait4(20)",  # thread 11 is one of the runner's: left out
        "  child 20:",
    ]
    assert "    main thread: recvfrom(fd 5) on a TCP connection to 10.1.2.3:5432, outside the tree" in text
    assert "What could still end the wait: the main thread of parent 10 waits in wait4(20); but" in text
    assert "No stacks: process 30: not permitted; run as root" in text
    assert "py-spy stacks of process 10:\n  MainThread (tid 10, idle)\n      Popen.wait" in text
    assert "plugin/client.py" not in text and "_pytest" not in text
    assert text.endswith("Killed (SIGKILL) the processes the test started: 20 (python), 31 (sleep).")


def test_a_timeout_with_nothing_seen_or_left() -> None:
    text = report.not_proven(None, stacks=True, killed=[], of="the command")
    assert text.startswith("Not proven: joinstall had no sample of the command's processes")
    assert text.endswith("No process the command started was left to kill.")
    assert report.not_proven(None, stacks=True, observed=False).startswith(
        "Not proven: without a Linux /proc"
    )


@pytest.mark.parametrize(
    ("exc", "name"),
    [
        (subprocess.TimeoutExpired("x", 1), "subprocess.TimeoutExpired"),
        (TimeoutError(), "TimeoutError"),
        (multiprocessing.TimeoutError(), "multiprocessing.context.TimeoutError"),
        (ValueError(), None),
    ],
)
def test_a_tests_own_timeout_is_told_by_its_class(exc: BaseException, name: str | None) -> None:
    assert client.own_timeout(exc) == name


def test_a_saved_file_is_named_after_its_test_safely_and_uniquely(tmp_path: Path) -> None:
    a, b = saving.file_name("tests/test_a.py::t[x/y]"), saving.file_name("tests/test_a.py::t[x_y]")
    assert a.startswith("tests_test_a.py--t_x_y-") and a.endswith(".json") and a != b
    long = saving.file_name("test_a.py::t[" + "x" * 1000 + "]")
    assert len(long) <= saving.NAME_LIMIT + len("-12345678.json")
    assert all(c.isalnum() or c in "._-" for c in a + long)
    first, second = saving._reserve(tmp_path, a), saving._reserve(tmp_path, a)
    assert (first.name, second.name) == (a, a.replace(".json", "-2.json"))


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("1.5", 1.5), ("10s", 10), ("2m", 120), ("1h", 3600)]
)
def test_a_watch_timeout_reads_like_timeout_1(text: str, seconds: float) -> None:
    assert watch.duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "0", "-1", "10x", "inf", "nan", "1e999"])
def test_a_bad_watch_timeout_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not a duration"):
        watch.duration(text)


def test_a_hang_proven_after_its_test_passed_fails_it_in_terminal_xml_and_xdist() -> None:
    from joinstall.plugin import hooks

    class Item:
        location = ("test_x.py", 4, "test_x")

    proven = dataclasses.replace(VIEW, verdict=Verdict.STALLED, summary="two threads wait", breaker="")
    record = client.Record(1, settings.Settings(True, 0.05, False), 0, frozenset(), proven=proven)
    report = pytest.TestReport("test_x.py::test_x", Item.location, {}, "passed", None, "call")
    hooks._place(Item(), report, record, ("joinstall: hang proven in call", "STALLED: two threads wait"))  # type: ignore[arg-type]
    # What pytest-xdist sends from a worker, and what --junitxml writes: message, then text.
    again = pytest.TestReport._from_json(report._to_json())
    assert again.failed
    assert again.longrepr.reprcrash.message.startswith("joinstall: stalled: two threads wait")  # type: ignore[union-attr]
    assert str(again.longrepr).splitlines()[0] == "E   joinstall: stalled: two threads wait"
    assert "joinstall: hang proven in call" in str(again.longrepr) and "STALLED: two" in str(again.longrepr)
