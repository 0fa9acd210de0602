"""`joinstall run` as a user calls it: output, bad input, Ctrl-C and a killed harness."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.integration.helpers import blocked_writing, joinstall, started, usage_error, verdict, wait_gone

pytestmark = pytest.mark.integration


@pytest.mark.timeout(60)
def test_run_prints_the_seed_lines_then_one_verdict_line() -> None:
    done = joinstall("run", "--size", "65515")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("PARENT: PPID is ")
    assert any(line.startswith("CHILD: PID is ") for line in lines)
    assert sum(line.startswith("VERDICT: ") for line in lines) == 1
    assert verdict(done.stdout).startswith("VERDICT: stalled") and "Fix: drain the queue" in verdict(
        done.stdout
    )
    assert all(len(line) <= 100 for line in lines)


@pytest.mark.timeout(60)
def test_run_json_prints_the_record() -> None:
    done = joinstall("run", "--size", "1KiB", "--variant", "fixed", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["verdict"] == "ok" and record["spec"]["size"] == 1024


BAD = [
    (["--size", "-1"], "not a byte count"),
    (["--size", "1.5"], "not a byte count"),
    (["--size", "3GiB"], "from 0 to"),
    (["--timeout", "0"], "greater than 0"),
    (["--timeout", "-2"], "greater than 0"),
    (["--variant", "nope"], "unknown variant"),
    (["--start-method", "threads"], "start method"),
    (["--shell", "/usr/bin/zsh-missing"], "does not exist"),
    (["--python", "/nonexistent/python3"], "does not exist"),
    (["--pipe-size", "64GiB"], "out of range"),
    (["--pipe-size", "100"], "out of range"),
    (["--puts", "0"], "--puts"),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("args", "needle"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    done = joinstall("run", *args)
    assert needle in usage_error(done)
    assert done.stdout == ""


def _kernel_accepts(size: int) -> bool:
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, 1031, size)  # F_SETPIPE_SZ
        return True
    except OSError:
        return False
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.timeout(30)
def test_a_pipe_size_the_kernel_refuses() -> None:
    size = 2 * int(Path("/proc/sys/fs/pipe-max-size").read_text())
    if _kernel_accepts(size):
        pytest.skip("this process has CAP_SYS_RESOURCE, so the kernel accepts pipes above pipe-max-size")
    line = usage_error(joinstall("run", "--pipe-size", str(size)))
    assert "the kernel refused pipe size" in line and "Operation not permitted" in line


@pytest.mark.timeout(30)
def test_the_original_zsh_path_is_named_when_missing() -> None:
    done = joinstall("run", "--shell", "/usr/bin/zsh")
    if os.path.exists("/usr/bin/zsh"):
        assert done.returncode == 0
    else:
        assert done.returncode == 2 and "/usr/bin/zsh does not exist" in done.stderr


@pytest.mark.timeout(60)
def test_a_platform_without_proc_falls_back_to_the_timeout() -> None:
    done = joinstall("run", "--size", "100000", "--timeout", "0.5", env={"JOINSTALL_PROCFS": "/nonexistent"})
    assert done.returncode == 0, done.stderr
    assert "falling back to timeout-based detection" in done.stdout
    said = verdict(done.stdout)
    assert "returned after 0.5" in said and "not proven from outside" in said


def _program_pids(proc_stdout: object, deadline: float) -> list[int]:
    """Read the harness's output until both the parent's and the child's pids are printed."""
    pids: list[int] = []
    while len(pids) < 2 and time.monotonic() < deadline:
        line = proc_stdout.readline()  # type: ignore[attr-defined]
        m = re.match(r"(PARENT: PPID|CHILD: PID) is (\d+)", line)
        if m:
            pids.append(int(m.group(2)))
    assert len(pids) == 2, "the program never printed its pids"
    return pids


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "harness-killed"])
def test_no_process_survives_the_harness(sig: signal.Signals) -> None:
    argv = [sys.executable, "-m", "joinstall", "run", "--size", "1MiB", "--faithful", "--timeout", "30"]
    with started(*argv) as proc:
        pids = _program_pids(proc.stdout, time.monotonic() + 20)
        # Interrupt a real stall, not a start-up: wait until the child's feeder sleeps in write().
        deadline = time.monotonic() + 20
        while not blocked_writing(pids[1]):
            assert time.monotonic() < deadline, "the child never blocked in write()"
            time.sleep(0.01)
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=15)
        if sig is signal.SIGINT:
            assert code == 130
            assert "interrupted; all processes it started were reaped" in proc.stderr.read()
        assert wait_gone(pids, timeout=10) == [], f"program processes survived {sig.name}"


def _old_python() -> str | None:
    from joinstall import interpreters
    from joinstall.errors import UsageError

    for path in interpreters.candidates():
        try:
            version = interpreters.probe(path).version
        except UsageError:  # a broken interpreter is simply not the one we want
            continue
        if interpreters.version_tuple(version)[:2] < (3, 8):
            return path
    return None


@pytest.mark.timeout(60)
def test_an_interpreter_too_old_for_the_program_is_refused_up_front() -> None:
    old = _old_python()
    if old is None:
        pytest.skip("no CPython older than 3.8 on this machine")
    assert "cannot run the target program" in usage_error(joinstall("run", "--python", old))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("bound", ["--budget", "--spy-timeout"])
def test_spy_refuses_an_endless_bound(bound: str) -> None:
    assert "at most 3600 seconds" in usage_error(joinstall("spy", "--pid", str(os.getpid()), bound, "inf"))


@pytest.mark.timeout(60)
def test_a_join_that_times_out_on_a_busy_child_is_not_a_stall() -> None:
    done = joinstall("run", "--size", "64KiB", "--variant", "buggy", "--timeout", "0.001")
    assert done.returncode == 0, done.stderr
    assert "VERDICT: ok, but join(0.001) timed out" in done.stdout


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("argv", "flag"), [(("sweep", "--points", "2"), "--faithful"), (("threshold",), "--timeout-based")]
)
def test_without_proc_a_command_names_its_own_timeout_based_flag(
    tmp_path: Path, argv: tuple[str, ...], flag: str
) -> None:
    # The engine speaks of the mode; the command line names its flag.
    done = joinstall(*argv, "-o", str(tmp_path / "out.jsonl"), env={"JOINSTALL_PROCFS": "/nonexistent"})
    line = usage_error(done)
    assert "cannot be proven from outside" in line and line.endswith(f"({flag})"), line
