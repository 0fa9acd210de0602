"""The engine on real programs: every hang is proven, and no live program is ever called hung.

Each program in ``tests/engine_corpus`` says on its first line what the engine must conclude.
Hangs are run under the oldest and newest interpreters found and under every start method that
changes the process tree; live programs as often, because a false "proven" is the worse error.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from joinstall import interpreters
from joinstall.engine import Diagnosis, Verdict, diagnose

from tests.integration.helpers import kill_session
from tests.wording import stumbles

CORPUS = Path(__file__).resolve().parents[1] / "engine_corpus"
#: Programs that never touch multiprocessing take no start method.
PLAIN = {
    "popen_wait",
    "fork_waitpid",
    "thread_pipe",
    "writer_writer",
    "lock_order",
    "event_nobody",
    "popen_reader_thread",
    "accept_outside_client",
    "accept_thread_client",
    "asyncio_communicate",
    "asyncio_executor",
    "asyncio_future_nobody",
    "asyncio_future_timeout",
    "asyncio_line_reader",
    "asyncio_proc_sleep",
    "asyncio_proc_wait",
    "asyncio_signal",
    "asyncio_sleep",
    "asyncio_stdin_late",
    "asyncio_stdin_nobody",
    "asyncio_thread_future",
    "epoll_eventfd_nobody",
    "epoll_eventfd_thread",
    "epoll_pidfd_late",
    "epoll_pidfd_nobody",
    "epoll_signalfd",
    "epoll_timerfd",
    "epoll_timerfd_spent",
    "selector_late",
    "socket_send_late_reader",
    "socket_send_waitpid",
    "socketpair_late_answer",
    "socketpair_outside_peer",
    "socketpair_thread",
    "socketpair_waitpid",
    "tcp_both_recv",
    "tcp_late_send",
    "tcp_outside_server",
}


#: Words the diagnosis of a hung program must say: the cause, not only the cycle.
CAUSES = {
    "pool_worker_killed": "while it ran a task",
    "pool_lock_lost": "whose holder is gone",
    "asyncio_future_nobody": "sleeps with no timer and no fd that anyone will make ready",
    "asyncio_proc_wait": "stopped reading",
}


def expectation(name: str) -> str:
    return (CORPUS / f"{name}.py").read_text().splitlines()[0].removeprefix("# expect: ").strip()


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """The oldest and the newest CPython found (this one if it is alone): path -> version."""
    found, _ = interpreters.discover()
    chosen = [found[0], found[-1]] if found else [interpreters.current()]
    return {i.path: i.version for i in chosen}


def pythons() -> list[str]:
    return list(versions())


def groups() -> Iterator[object]:
    """(interpreter, start method): each group runs the whole corpus at once."""
    for py, version in versions().items():
        for method in ("fork", "spawn"):
            yield pytest.param(py, method, id=f"{version}-{method}")
    yield pytest.param(sys.executable, "forkserver", id="this-python-forkserver")


def programs() -> list[str]:
    return sorted(p.stem for p in CORPUS.glob("*.py"))


@contextlib.contextmanager
def running(py: str, name: str, *args: str, ready: bool = True) -> Iterator[subprocess.Popen[str]]:
    """The program started in its own session; ``ready``: once it printed READY."""
    proc = subprocess.Popen(
        [py, str(CORPUS / f"{name}.py"), *args], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        if ready:
            assert proc.stdout.readline().strip() == "READY", f"{name} did not start"
        yield proc
    finally:
        kill_session(proc.pid)
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def proven_within(pid: int, seconds: float) -> Diagnosis:
    deadline = time.monotonic() + seconds
    while True:
        d = diagnose(pid, budget=0.5, stacks=False)
        if d.proven or time.monotonic() > deadline:
            return d


def judge(py: str, name: str, method: str) -> str | None:
    """Run one program and check the engine's conclusion; a message if it is wrong."""
    expect = expectation(name)
    args = [] if name in PLAIN else [method]
    # From the first instant: a tree that is still starting (a forkserver handing over fds, a
    # child not forked yet) must never be proven anything but what it will become.
    with running(py, name, *args, ready=False) as proc:
        early = diagnose(proc.pid, budget=0.4, interval=0.01, stacks=False)
        if early.proven and early.verdict.value != expect:
            return f"{name} while starting: {early.verdict.value}:\n{early.text()}"
    with running(py, name, *args) as proc:
        if expect == "live":
            # Watched through its slow phase, a live program must never be proven hung.
            d = diagnose(proc.pid, budget=1.0, stacks=False)
            if d.proven or d.verdict not in (Verdict.BLOCKED, Verdict.RUNNING):
                return f"{name}: live, but {d.verdict.value}:\n{d.text()}"
            return _stumbles(name, early, d)
        d = proven_within(proc.pid, 15)
        if d.verdict.value != expect or not (d.cycle and d.fix and d.stuck_pids):
            return f"{name}: expected {expect}, got {d.verdict.value}:\n{d.text()}"
        if CAUSES.get(name, "") not in d.cause:
            return f"{name}: the cause should say {CAUSES[name]!r}:\n{d.text()}"
    return _stumbles(name, early, d)


def _stumbles(name: str, *found: Diagnosis) -> str | None:
    """Every report, proven or not, reads without a phrase a person would stumble on."""
    bad = [(p, d.text()) for d in found for p in stumbles(d.text())]
    return f"{name}: {bad[0][0]!r} in:\n{bad[0][1]}" if bad else None


@pytest.mark.integration
@pytest.mark.timeout(120)
@pytest.mark.parametrize(("py", "method"), list(groups()))
def test_every_hang_is_proven_and_no_live_program_is(py: str, method: str) -> None:
    names = programs() if method != "forkserver" else [n for n in programs() if n not in PLAIN]
    if method != "forkserver":
        # The plain programs do not depend on the start method: once per interpreter.
        names = [n for n in names if n not in PLAIN or method == "fork"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        wrong = [m for m in pool.map(lambda n: judge(py, n, method), names) if m]
    assert not wrong, "\n\n".join(wrong)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_a_wide_pool_is_proven_with_writers_queued_on_the_lock() -> None:
    with running(sys.executable, "pool_queue", "fork", "32") as proc:
        d = proven_within(proc.pid, 15)
        assert d.verdict is Verdict.STALLED, d.text()
        waits = {t.wait for t in d.threads if t.stuck}
        # Workers that drew no task exit; the others wait on the write lock or the pipe.
        assert {"shared_futex", "pipe_write"} <= waits
        assert len(d.stuck_pids) > 4


@pytest.mark.integration
@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", ["65536", "1024"])
def test_sleeping_consumer_of_small_and_full_messages_is_live(size: str) -> None:
    with running(sys.executable, "sleepy_reader", "fork", size) as proc:
        seen = diagnose(proc.pid, budget=2.0, stacks=False)
        assert not seen.proven, seen.text()
