"""Suite-wide guards: refuse to start without ptrace/proc access, and fail on leaked processes.

The test process becomes a child subreaper, so every orphan of every program the tests start is
re-parented here: at the end of the session, any descendant still alive is a leak, and the
session fails with its pid and command line. Zombies are reaped on the way.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from joinstall import reaper
from joinstall.observe import procfs

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "repro" / "programs" / "seed.py"


#: Named semaphores (``reaper.semaphore_files``): multiprocessing's (spawn, forkserver) and
#: glibc's temporary files that ``sem_open`` creates them under. A killed tree must leave none.
_semaphores_before: set[str] = set()
#: Which test left which semaphores (so a failed session names the culprit, not only the count).
_left_by: dict[str, list[str]] = {}


def pytest_configure(config: pytest.Config) -> None:
    """Adopt orphans, and stop at once if /proc cannot show other processes' syscalls."""
    reaper.become_subreaper()
    _semaphores_before.update(reaper.semaphore_files())
    if not procfs.available():
        pytest.exit("this platform has no Linux /proc; joinstall's tests need one", returncode=4)
    if not os.access("/proc/self/syscall", os.R_OK):
        pytest.exit(
            "cannot read /proc/PID/syscall: ptrace is forbidden here. In a container run it with"
            " --cap-add=SYS_PTRACE, or set kernel.yama.ptrace_scope=0",
            returncode=4,
        )


def _leaks() -> list[psutil.Process]:
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)
                continue
            # The notebook kernel manager and pytest's own helpers are not ours to judge.
            alive.append(child)
        except (psutil.Error, ChildProcessError):
            continue
    return alive


def _left_semaphores(before: set[str]) -> list[str]:
    """Semaphores not in ``before`` that are still there (after a short grace: a resource
    tracker that saw its program end may still be unlinking)."""
    deadline = time.monotonic() + 2.0
    while True:
        left = sorted(reaper.semaphore_files() - before)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def _no_semaphore_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """Note any semaphore a test leaves behind; the session fails on them at its end."""
    before = reaper.semaphore_files()
    yield
    if reaper.semaphore_files() - before:
        left = _left_semaphores(before)
        if left:
            _left_by[request.node.nodeid] = left


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session if any process started by the tests is still alive, or a semaphore."""
    # Under xdist each worker runs tests beside the others: only the whole session can judge.
    if not hasattr(session.config, "workerinput"):
        left = _left_semaphores(_semaphores_before)
        if left:
            sys.stderr.write(f"\nLEFT IN /dev/shm ({len(left)} semaphores), e.g. {left[0]}\n")
            for nodeid, files in _left_by.items():
                sys.stderr.write(f"  {nodeid}: {len(files)}, e.g. {files[0]}\n")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    deadline = 5.0
    _, still = psutil.wait_procs(_leaks(), timeout=deadline)
    if still:
        lines = [f"  pid {p.pid}: {' '.join(p.cmdline()) if p.is_running() else '?'}" for p in still]
        sys.stderr.write("\nLEAKED PROCESSES (still alive after the session):\n" + "\n".join(lines) + "\n")
        for p in still:
            try:
                p.kill()
                p.wait(5)
            except psutil.Error:
                pass
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def seed_program() -> Path:
    return SEED


@pytest.fixture
def python() -> str:
    return sys.executable
