"""Signals: SIGINT and SIGTERM stop joinstall within a second, with 130/143, and reap everything.

Each command is started the way a shell starts a background job: with SIGINT ignored. Python
keeps an inherited SIG_IGN, so these tests fail unless joinstall installs its handlers itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.integration.helpers import ROOT, blocked_writing, wait_gone

pytestmark = pytest.mark.integration

#: The bound the issue sets: any number of signals end the command within a second.
WITHIN = 1.0
FAITHFUL_RUN = ["run", "--size", "1MiB", "--faithful", "--timeout", "20"]
FAITHFUL_SWEEP = [
    "sweep", "--faithful", "--timeout", "20", "--lo", "1MiB", "--hi", "2MiB", "--points", "4",
    "--dense", "0", "--variants", "buggy", "-j", "2", "--no-progress",
]  # fmt: skip


def _ignore_sigint() -> None:
    # What `cmd &` in a non-interactive shell does to the job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setsid()


@contextlib.contextmanager
def _background(*args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "joinstall", *args], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=_ignore_sigint,
    )  # fmt: skip
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def _stalled_children(proc: subprocess.Popen[str], count: int) -> list[int]:
    """Wait until ``count`` programs under ``proc`` have a feeder asleep in write(); their pids."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        tree = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        blocked = [pid for pid in tree if blocked_writing(pid)]
        if len(blocked) >= count:
            return tree
        time.sleep(0.02)
    raise AssertionError("the programs never stalled")


def _stop(proc: subprocess.Popen[str], *sigs: signal.Signals) -> tuple[int, float]:
    start = time.monotonic()
    for sig in sigs:
        os.kill(proc.pid, sig)
    code = proc.wait(timeout=15)
    return code, time.monotonic() - start


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("sigs", "code"),
    [
        ((signal.SIGINT,), 130),
        ((signal.SIGINT, signal.SIGINT, signal.SIGINT), 130),
        ((signal.SIGTERM,), 143),
    ],
    ids=["one-sigint", "three-quick-sigints", "sigterm"],
)
def test_a_faithful_run_started_with_sigint_ignored_stops_at_once(
    sigs: tuple[signal.Signals, ...], code: int
) -> None:
    with _background(*FAITHFUL_RUN) as proc:
        tree = _stalled_children(proc, 1)
        got, took = _stop(proc, *sigs)
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert got == code, err
        assert took < WITHIN, f"took {took:.2f} s"
        assert "interrupted; all processes it started were reaped" in err
        assert "Traceback" not in err
    assert wait_gone(tree, timeout=5) == []


@pytest.mark.timeout(90)
def test_an_interrupted_faithful_sweep_does_not_wait_for_its_running_runs(tmp_path: Path) -> None:
    out = tmp_path / "sweep.jsonl"
    with _background(*FAITHFUL_SWEEP, "-o", str(out)) as proc:
        tree = _stalled_children(proc, 2)
        got, took = _stop(proc, signal.SIGINT, signal.SIGINT)
        assert got == 130
        assert took < WITHIN, f"took {took:.2f} s"
    assert wait_gone(tree, timeout=5) == []
    # The runs that were killed are not recorded as results: a resume runs them again.
    assert b'"kind": "run"' not in out.read_bytes()
