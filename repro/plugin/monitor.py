"""One monitor thread per session, armed for one test phase at a time.

While a phase (setup, call, teardown) runs, the monitor samples the process tree of this
process through the engine's ``Watcher``, every ``interval`` seconds, starting one interval in:
a quick test is never sampled. Once a hang is proven it captures the stacks and interrupts the
test's thread with ``SIGNAL``. The handler runs in the main thread, inside the blocked call
(``waitpid``, ``poll``, a lock, ``read`` all return EINTR to run it), kills the stuck processes,
unblocks this process's stuck threads, and raises ``HangProven`` there: the traceback shows the
line of the test that hung.

pytest-timeout (signal method) owns SIGALRM; while a phase runs, its handler is wrapped so that
the tree is sampled once more at the instant it fires, and the test's report adds that verdict.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest
from joinstall.plugin import report
from joinstall.plugin.settings import Settings

if TYPE_CHECKING:
    from joinstall.engine import Diagnosis, Watcher

#: A real-time signal: no default use, unlike SIGUSR1/2, so a test's own handlers stay untouched.
SIGNAL = signal.SIGRTMIN + 4 if hasattr(signal, "SIGRTMIN") else signal.SIGUSR2
#: How long the handler may take to run before the monitor kills the stuck processes itself
#: (the test's thread may sit in a C call that retries on EINTR): seconds.
GRACE = 2.0
#: How long the handler waits for threads it unblocked to finish their failed write.
THREAD_EXIT_WAIT = 1.0
#: Threads that belong to the test runner, not the test: they can never break a test's hang.
RUNNER_MODULES = ("_pytest", "pytest_timeout", "xdist", "execnet", "pluggy", "joinstall")


class HangProven(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """A hang was proven in the test's process tree (a pytest failure outcome, so that a
    test's own ``except Exception`` cannot swallow it)."""


@dataclasses.dataclass(eq=False)
class Phase:
    """One watched phase of one test, and what the monitor found in it."""

    item: pytest.Item
    when: str
    settings: Settings
    test_thread: int
    test_tid: int
    monitor_tid: int
    #: Bystander threads (``bystanders``), found at the first sample: arming must stay cheap.
    ignore: frozenset[int] = frozenset()
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    raised: threading.Event = dataclasses.field(default_factory=threading.Event)
    closing: bool = False
    watcher: Watcher | None = None
    proven: Diagnosis | None = None
    at_timeout: Diagnosis | None = None
    killed: list[int] = dataclasses.field(default_factory=list)
    unblocked: list[int] = dataclasses.field(default_factory=list)
    stuck: list[threading.Thread] = dataclasses.field(default_factory=list)

    def step(self) -> Diagnosis | None:
        """One sample (under ``lock``): the proven diagnosis, or None."""
        from joinstall.engine import Watcher

        if self.watcher is None:
            self.ignore = bystanders(self.test_tid) | {self.monitor_tid}
            self.watcher = Watcher(os.getpid(), ignore_tids=self.ignore)
        return self.watcher.step()


def _tids() -> set[int]:
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def bystanders(test_tid: int) -> frozenset[int]:
    """Threads of this process that can never end a test's hang.

    Threads started below ``threading`` (execnet's IO thread under xdist, faulthandler's
    watchdog) and those of the test runner: they wait on sockets and timers of their own and
    would leave every cycle through this process open. Any other thread, even one started
    before the test (a session-wide pool), may be what the test waits for, so it is watched.
    """
    tids = _tids()
    known = {}
    for thread in threading.enumerate():
        target = getattr(thread, "function", None) or getattr(thread, "_target", None)
        module = getattr(target, "__module__", None) or type(thread).__module__
        known[thread.native_id] = module.split(".")[0] in RUNNER_MODULES
    return frozenset(t for t in tids if t != test_tid and known.get(t, True))


class Monitor:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._phase: Phase | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self._previous_handler: Any = None
        self.leftover: list[threading.Thread] = []

    # -- the test's thread -------------------------------------------------------------------

    def arm(self, item: pytest.Item, when: str, settings: Settings) -> Phase:
        """Start watching one phase (called in the thread that runs the test)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="joinstall monitor", daemon=True)
            self._thread.start()
        in_main = threading.current_thread() is threading.main_thread()
        if in_main and self._previous_handler is None:
            self._previous_handler = signal.signal(SIGNAL, self._on_signal)
        monitor_tid = self._thread.native_id or 0
        phase = Phase(item, when, settings, threading.get_ident(), threading.get_native_id(), monitor_tid)
        if in_main:
            self._wrap_alarm(phase)
        with self._cond:
            self._phase = phase
            self._cond.notify()
        return phase

    def disarm(self, phase: Phase) -> None:
        """Stop watching ``phase``; a sample in progress finishes first."""
        phase.closing = True
        with phase.lock:
            phase.done.set()
        with self._cond:
            self._phase = None
        if phase.proven is not None and not phase.raised.is_set():
            # Proven as the phase ended (a timed join ran out): stop the tree all the same.
            phase.raised.set()
            self._stop(phase)
        self._unwrap_alarm(phase)
        self.leftover = [t for t in (*self.leftover, *phase.stuck) if t.is_alive()]

    def close(self) -> None:
        """End the monitor thread and give the signal back (at the end of the session)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(5)
        if self._previous_handler is not None:
            with contextlib.suppress(ValueError):  # not in the main thread: leave it installed
                signal.signal(SIGNAL, self._previous_handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        phase = self._phase
        if phase is None or phase.proven is None or phase.raised.is_set():
            return
        phase.raised.set()
        self._stop(phase)
        if not phase.closing:
            raise HangProven(report.message(phase.proven), pytrace=True)

    # -- pytest-timeout ----------------------------------------------------------------------

    def _wrap_alarm(self, phase: Phase) -> None:
        previous = signal.getsignal(signal.SIGALRM)
        if not callable(previous) or not phase.item.config.pluginmanager.hasplugin("timeout"):
            return

        def on_alarm(signum: int, frame: FrameType | None) -> None:
            __tracebackhide__ = True
            self._sample_at_timeout(phase)
            previous(signum, frame)

        on_alarm.joinstall_wraps = previous  # type: ignore[attr-defined]
        signal.signal(signal.SIGALRM, on_alarm)

    def _unwrap_alarm(self, phase: Phase) -> None:
        current = signal.getsignal(signal.SIGALRM)
        previous = getattr(current, "joinstall_wraps", None)
        if previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGALRM, previous)

    def _sample_at_timeout(self, phase: Phase) -> None:
        # The verdict is the monitor's latest sample, at most one interval old: a sample taken
        # now would see the test's thread running this handler, not blocked where it hung.
        phase.closing = True  # our own signal must not raise a second failure on top
        with phase.lock:
            phase.done.set()
            if phase.watcher is None or not phase.watcher.samples:
                return
            try:
                phase.at_timeout = phase.watcher.last()
            except Exception as exc:  # the timeout's own report matters more than ours
                phase.item.add_report_section(phase.when, "joinstall", f"no verdict: {exc!r}")
                return
        if phase.at_timeout.proven and phase.proven is None:
            phase.proven = phase.at_timeout
            self._stop(phase)

    # -- the monitor thread ------------------------------------------------------------------

    def _run(self) -> None:
        # The engine is imported at the first sample (Phase.step): a suite of quick tests never pays for it.
        seen: Phase | None = None

        def ready() -> bool:
            return self._closed or self._phase not in (None, seen)

        while True:
            with self._cond:
                self._cond.wait_for(ready)
                if self._closed:
                    return
                phase = seen = self._phase
            assert phase is not None
            try:
                self._watch(phase)
            except Exception as exc:  # never let the monitor die: report it with the test
                phase.item.add_report_section(phase.when, "joinstall", f"monitor failed: {exc!r}")

    def _watch(self, phase: Phase) -> None:
        interval = phase.settings.interval
        while not phase.done.wait(interval):
            with phase.lock:
                if phase.done.is_set():
                    return
                proven = phase.step()
            if proven is not None:
                self._prove(phase, proven)
                return

    def _prove(self, phase: Phase, proven: Diagnosis) -> None:
        with phase.lock:
            # Recorded before the stacks are taken: py-spy's ptrace stops can end a raw write
            # early, and a test freed that way still hung (the report fails it all the same).
            phase.proven = proven
        if phase.settings.stacks:
            from joinstall.engine import capture_stacks

            proven = capture_stacks(proven)
        with phase.lock:
            phase.proven = proven
            if phase.done.is_set():
                return
            self._interrupt(phase)
        if not phase.raised.wait(GRACE) and not phase.done.is_set():
            # The test's thread sits in a call that retries on EINTR: free it by killing, then
            # it returns to Python, where the pending signal (or exception) is delivered.
            phase.killed = _kill(proven)
            self._interrupt(phase)

    def _interrupt(self, phase: Phase) -> None:
        if phase.test_thread == threading.main_thread().ident:
            signal.pthread_kill(phase.test_thread, SIGNAL)
            return
        # Signal handlers run only in the main thread: for a test run elsewhere, stop the tree
        # here and have the exception raised when the thread next runs Python code.
        phase.raised.set()
        self._stop(phase)
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(phase.test_thread), ctypes.py_object(HangProven)
        )

    def _stop(self, phase: Phase) -> None:
        from joinstall.plugin import stop

        assert phase.proven is not None
        phase.killed = sorted({*phase.killed, *_kill(phase.proven)})
        me = os.getpid()
        mine = [t.tid for t in phase.proven.threads if t.pid == me and t.stuck and t.tid != me]
        mine = [tid for tid in mine if tid != threading.get_native_id()]
        with stop.quiet_epipe(mine):
            phase.unblocked = stop.unblock_threads(mine)
            for thread in stop.stuck_threads(mine):
                thread.join(THREAD_EXIT_WAIT if phase.unblocked else 0)
        phase.stuck = stop.stuck_threads(mine)


def _kill(proven: Diagnosis) -> list[int]:
    from joinstall.plugin import stop

    return stop.kill(proven.stuck_pids)
