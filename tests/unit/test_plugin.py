"""The plugin's pure parts: option values and where a bad one came from; trimming stacks."""

from __future__ import annotations

import pytest
from joinstall.plugin import report, settings

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
