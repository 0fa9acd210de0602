"""Without /proc (``JOINSTALL_PROCFS`` at an empty folder) the plugin, ``watch`` and ``run`` say
once, in one line, that hangs are not proven here and what they still do; at a timeout they
still take py-spy's stacks (here refused: ``JOINSTALL_PYSPY`` exits 1) and kill the processes.
Never a traceback, never an exception's repr."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import joinstall
from tests.integration.test_plugin_ci import SLEEPER, pytest_session

pytestmark = pytest.mark.integration

NOTICE = "hangs are not proven on this platform (no Linux /proc to observe processes through)"
HANGS = f"""
import subprocess, sys

def test_waits_for_a_sleeper():
    p = subprocess.Popen([sys.executable, "-c", {SLEEPER!r}])
    p.wait()

def test_passes():
    pass
"""


@pytest.fixture
def no_proc(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "proc").mkdir()
    refuse = tmp_path / "py-spy"
    refuse.write_text("#!/bin/sh\necho 'Error: refused' >&2\nexit 1\n")
    refuse.chmod(0o755)
    return {"JOINSTALL_PROCFS": str(tmp_path / "proc"), "JOINSTALL_PYSPY": str(refuse)}


def no_repr(text: str) -> None:
    assert "Traceback" not in text and not re.search(r"\w+Error\(", text), text
    assert "monitor failed" not in text and "could not observe" not in text, text


@pytest.mark.timeout(60)
def test_the_plugin_says_it_once_and_still_cleans_up(tmp_path: Path, no_proc: dict[str, str]) -> None:
    (tmp_path / "test_hangs.py").write_text(HANGS)
    ran = pytest_session(tmp_path, "-q", "--joinstall", "--timeout", "1", env=no_proc)
    assert ran.ret == 1 and ran.left == [], (ran.out, ran.left)
    no_repr(ran.out + ran.err)
    assert ran.out.count(NOTICE) == 1 and f"joinstall: {NOTICE}; at a timeout" in ran.out, ran.out
    text = ran.section("joinstall: not proven when pytest-timeout fired")
    assert "No stacks: process " in text and "Error: refused; py-spy failed" in text
    assert re.search(r"Killed \(SIGKILL\) the processes the test started: \d+ \(python", text), text


@pytest.mark.timeout(60)
def test_watch_says_it_once_and_still_takes_the_stacks_and_cleans_up(no_proc: dict[str, str]) -> None:
    del no_proc["JOINSTALL_PYSPY"]  # py-spy needs no /proc of ours; refused: the plugin's test
    code = (
        f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); time.sleep(60)"
    )
    done = joinstall("watch", "--timeout", "1", "--", sys.executable, "-c", code, env=no_proc)
    assert done.returncode == 124, done.stderr
    no_repr(done.stderr)
    assert done.stderr.count(NOTICE) == 1 and "py-spy stacks of process" in done.stderr
    assert re.search(
        r"Killed \(SIGKILL\) the processes the command started: \d+ \(python\S*\), \d+", done.stderr
    )


@pytest.mark.timeout(60)
def test_run_says_it_once(no_proc: dict[str, str]) -> None:
    done = joinstall("run", "--size", "1000", env=no_proc)
    assert done.returncode == 0, done.stderr
    no_repr(done.stdout + done.stderr)
    assert done.stdout.count(NOTICE) == 1
