"""Helpers for tests that start joinstall itself as a subprocess."""

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
from joinstall import reaper
from joinstall.engine import snapshot, syscalls

ROOT = Path(__file__).resolve().parents[2]


def joinstall(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m joinstall ARGS`` to completion and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "joinstall", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


@contextlib.contextmanager
def started(*argv: str) -> Iterator[subprocess.Popen[str]]:
    """Start a command in its own session; on leaving, kill the session and reap it."""
    proc = subprocess.Popen(
        list(argv),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        kill_session(proc.pid)
        proc.wait()
        proc.stdout and proc.stdout.close()
        proc.stderr and proc.stderr.close()


def kill_session(pgid: int) -> None:
    """Kill a session started with ``start_new_session`` and unlink the semaphores it mapped.

    The group is frozen first, so that no member forks a process the listing would miss."""
    reaper.kill_and_clean(reaper.freeze(pgid))
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def blocked_writing(pid: int) -> bool:
    """Whether a thread of ``pid`` sleeps in write() (a feeder stuck on a full pipe, say)."""
    proc = snapshot.process(pid)
    return proc is not None and any(
        t.state == "S" and syscalls.name(t.syscall) in ("write", "writev") for t in proc.threads
    )


def alive(pid: int) -> bool:
    """A pid is alive unless it is gone or a zombie (which we reap if it is ours)."""
    try:
        if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            return True
    except psutil.NoSuchProcess:
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return False


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    """Wait until none of the pids is alive; return those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.02)
    return [p for p in pids if alive(p)]


def usage_error(done: subprocess.CompletedProcess[str]) -> str:
    """Assert the contract for bad input: exit 2, one line on stderr, no traceback; return the line."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def verdict(stdout: str) -> str:
    """The ``VERDICT:`` paragraph of ``run``'s output as one line (it wraps at 100 columns)."""
    lines = stdout.split("VERDICT: ", 1)[1].splitlines()
    taken = [lines[0]]
    for ln in lines[1:]:
        if not ln.startswith(" " * 9):
            break
        taken.append(ln.strip())
    return "VERDICT: " + " ".join(taken)
