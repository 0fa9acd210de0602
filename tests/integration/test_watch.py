"""``joinstall watch -- CMD``: a stalled command, a failing one, a slow live one, and Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from joinstall.engine import saved

from tests.integration.helpers import ROOT, joinstall, started, usage_error, wait_gone
from tests.integration.test_plugin_ci import DAEMON

pytestmark = pytest.mark.integration
HANG_PROVEN = 86
TIMED_OUT = 124

PROGRAM = """
import multiprocessing as mp, sys, time
def child(q, pause):
    q.put(b"x" * (1 << 20))
if __name__ == "__main__":
    pause = float(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=child, args=(q, pause))
    p.start()
    if pause >= 0:  # a slow but live consumer: reads after a while, then joins
        time.sleep(pause)
        q.get()
    p.join()
    print("done", flush=True)
"""


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    return path


@pytest.mark.timeout(60)
def test_a_stalled_command_is_stopped_with_its_own_code(program: Path, tmp_path: Path) -> None:
    out, evidence = tmp_path / "diagnosis.json", tmp_path / "hang.json"
    start = time.monotonic()
    done = joinstall(
        "watch", "--json", str(out), "--save", str(evidence), "--", sys.executable, str(program), "-1"
    )
    assert done.returncode == HANG_PROVEN, done.stderr
    assert time.monotonic() - start < 15
    assert "done" not in done.stdout
    assert "joinstall watch: hang proven in" in done.stderr
    # One line within 100 columns, however long the command (here: two absolute paths).
    assert len(done.stderr.splitlines()[0]) <= 100, done.stderr
    assert "STALLED:" in done.stderr and "The wait-for cycle:" in done.stderr
    assert "Fix: drain the queue before joining" in done.stderr
    assert "py-spy stacks of process" in done.stderr
    record = json.loads(out.read_text())
    assert record["kind"] == "diagnosis" and record["verdict"] == "stalled" and record["stuck_pids"]
    assert wait_gone(record["stuck_pids"]) == []
    assert saved.read(evidence).verdict.value == "stalled"


OUTSIDE = f"""
import multiprocessing as mp, socket, subprocess, sys
DAEMON = {DAEMON!r}
def reader(port):
    socket.create_connection(("127.0.0.1", port)).recv(1)
if __name__ == "__main__":
    subprocess.Popen([sys.executable, "-c", DAEMON, sys.argv[2]])
    p = mp.Process(target=reader, args=(int(sys.argv[1]),))
    p.start()
    p.join()
"""


@pytest.mark.timeout(60)
def test_at_its_timeout_a_command_gets_the_report_and_its_tree_is_killed(tmp_path: Path) -> None:
    program, daemon, save = tmp_path / "outside.py", tmp_path / "daemon", tmp_path / "hang.json"
    program.write_text(OUTSIDE)
    with socket.create_server(("127.0.0.1", 0)) as server:  # outside the tree: it never answers
        port = server.getsockname()[1]
        start = time.monotonic()
        argv = ["--timeout", "1.5s", "--save", str(save), "--", sys.executable, str(program), str(port)]
        done = joinstall("watch", *argv, str(daemon))
        took = time.monotonic() - start
    assert done.returncode == TIMED_OUT, done.stderr
    text = done.stderr
    assert text.startswith("joinstall watch: not proven when --timeout 1.5s expired: ")
    assert "Not a hang" not in text and "live, not hung" not in text
    assert f":{port}" in text and "What could still end the wait: " in text
    assert text.count("py-spy stacks of process") >= 2 and "reader (outside.py:" in text
    killed = re.search(
        r"Killed \(SIGKILL\) the processes the command started: (.*)\.", text.replace("\n", " ")
    )
    assert killed is not None, text
    # The daemon left the command's session and tree: found all the same (we adopt orphans).
    assert f"{daemon.read_text()} (python" in killed.group(1)
    assert wait_gone([int(daemon.read_text())]) == []
    assert f"saved the diagnosis to {save}; read it on any machine with `joinstall explain {save}`" in text
    assert not saved.read(save).proven
    assert took < 1.5 + 8, took


@pytest.mark.timeout(60)
def test_no_stacks_leaves_them_out(program: Path) -> None:
    done = joinstall("watch", "--no-stacks", "--", sys.executable, str(program), "-1")
    assert done.returncode == HANG_PROVEN
    assert "py-spy stacks" not in done.stderr


@pytest.mark.timeout(60)
def test_a_slow_live_command_runs_to_its_end(program: Path) -> None:
    done = joinstall("watch", "--", sys.executable, str(program), "1.0")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n" and done.stderr == ""


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("script", "status"), [("exit 7", 7), ("kill -TERM $$", 128 + 15), ("exit 0", 0)])
def test_the_command_status_passes_through(script: str, status: int) -> None:
    done = joinstall("watch", "--", "sh", "-c", f"echo out; echo err >&2; {script}")
    assert done.returncode == status
    assert done.stdout == "out\n" and done.stderr == "err\n"


@pytest.mark.timeout(60)
def test_stdin_is_the_command_s() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "joinstall", "watch", "--", "cat"],
        input="hello\n", capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout == "hello\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_reach_the_command(sig: signal.Signals, status: int) -> None:
    code = "import time; print('ready', flush=True); time.sleep(60)"
    with started(sys.executable, "-m", "joinstall", "watch", "--", sys.executable, "-c", code) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        kids = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        os.kill(proc.pid, sig)
        assert proc.wait(timeout=20) == status
        assert wait_gone(kids) == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "no command given"),
        (["--", "no-such-command-here"], "'no-such-command-here' is not an executable"),
        (["--interval", "0", "--", "true"], "--interval: '0' is not an interval"),
        (["--json", "/nonexistent/dir/x.json", "--", "true"], "--json /nonexistent/dir/x.json"),
        (["--timeout", "10x", "--", "true"], "--timeout: '10x' is not a duration"),
        (["--timeout", "0", "--", "true"], "--timeout: '0' is not a duration"),
        (["--save", "/", "--", "true"], "/ is a directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    assert needle in usage_error(joinstall("watch", *args))
