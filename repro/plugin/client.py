"""The pytest process's side of the monitor: start it, arm it per test, and act on its proof.

No thread of joinstall runs in the pytest process (see ``monitor.py`` for why): per test, the
client writes one line to arm the monitor when the setup starts and one to disarm it when the
teardown ends. When the monitor proves a hang, it interrupts the main thread with ``SIGNAL``;
the handler runs inside the blocked call (``waitpid``, ``poll``, a lock, ``read`` all return
EINTR to run it), reads the proof, kills the stuck processes, unblocks this process's stuck
threads, and raises ``HangProven`` there: the traceback shows the line of the test that hung.

At a timeout nothing proved (pytest-timeout's alarm, its timer thread, or the test's own
``TimeoutError``), the monitor is asked for its view of the test's processes before the
timeout, py-spy's stacks of all of them, and to kill every process the test started; the report
adds all of that. pytest-timeout (signal method) owns SIGALRM: while a test runs, its handler
is wrapped. Its thread method ends pytest with ``os._exit``: the timer's function is wrapped,
and joinstall's section is printed before pytest-timeout's own.

Without ``/proc`` there is no monitor: at a timeout this process takes py-spy's stacks of the
test's processes and kills them through psutil.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest
from joinstall.plugin import report
from joinstall.plugin.settings import Settings

if TYPE_CHECKING:
    from joinstall.engine import Diagnosis

#: A real-time signal: no default use, unlike SIGUSR1/2, so a test's own handlers stay untouched.
SIGNAL = signal.SIGRTMIN + 4 if hasattr(signal, "SIGRTMIN") else signal.SIGUSR2
#: How long the handler waits for the proof the monitor announced (py-spy takes the stacks).
PROOF_WAIT = 20.0
#: How long the signal's handler waits for a proof that is not there (a signal of a test that ended).
STALE_WAIT = 0.2
#: How long a timeout's handler waits for the monitor's view, py-spy's stacks (each dump is
#: bounded by 5 s, twice on a proven hang) and the killing of the test's processes.
TIMEOUT_WAIT = 30.0
#: A test's own timeouts, by class name (any class of the exception's): ``TimeoutError`` (and
#: multiprocessing's, asyncio's and concurrent.futures' before 3.11), ``subprocess.TimeoutExpired``.
OWN_TIMEOUTS = ("TimeoutError", "TimeoutExpired")
#: How long the handler waits for threads it unblocked to finish their failed write.
THREAD_EXIT_WAIT = 1.0
#: How long the monitor may take to exit at the end of the session.
CLOSE_WAIT = 2.0
#: Threads that belong to the test runner, not the test: they can never break a test's hang.
RUNNER_MODULES = ("_pytest", "pytest_timeout", "xdist", "execnet", "pluggy", "joinstall")
PROC = os.environ.get("JOINSTALL_PROCFS", "/proc")
TASKS = f"{PROC}/self/task"
MONITOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "monitor.py")


class HangProven(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """A hang was proven in the test's process tree (a pytest failure outcome, so that a
    test's own ``except Exception`` cannot swallow it)."""


@dataclasses.dataclass(eq=False)
class Record:
    """One watched test, and what the monitor found in it."""

    seq: int
    settings: Settings
    test_thread: int
    #: Bystander threads of this process, as told to the monitor (left out of the stacks).
    ignore: frozenset[int]
    announced: bool = False
    raised: bool = False
    closing: bool = False
    reported: bool = False
    proven: Diagnosis | None = None
    #: What timed out, as the end of "not proven when ...": "pytest-timeout fired".
    timeout: str = ""
    at_timeout: Diagnosis | None = None
    #: py-spy's stacks taken at the timeout when there was no view to put them in.
    stacks: dict[str, str] = dataclasses.field(default_factory=dict)
    missing: list[str] = dataclasses.field(default_factory=list)
    #: The processes of the test killed at its timeout, as ``pid (name)`` (None: not yet).
    cleaned: list[str] | None = None
    #: The file the diagnosis was saved to, and the report's line saying so.
    saved: str = ""
    saved_to: str = ""
    #: When the test started (wall clock): without /proc, a process born since is the test's.
    started: float = 0.0
    #: A monitor watched the test through /proc.
    observed: bool = True
    failure: str = ""
    killed: list[int] = dataclasses.field(default_factory=list)
    unblocked: list[int] = dataclasses.field(default_factory=list)
    stuck: list[threading.Thread] = dataclasses.field(default_factory=list)


def bystanders() -> frozenset[int]:
    """Threads of this process that can never end a test's hang.

    Threads started below ``threading`` (execnet's IO thread under xdist, faulthandler's
    watchdog) and those of the test runner: they wait on sockets and timers of their own and
    would leave every cycle through this process open. Any other thread, even one started
    before the test (a session-wide pool), may be what the test waits for, so it is watched.
    """
    try:
        tids = {int(t) for t in os.listdir(TASKS)}
    except OSError:
        return frozenset()
    main = threading.main_thread().native_id
    known = {}
    for thread in threading.enumerate():
        target = getattr(thread, "function", None) or getattr(thread, "_target", None)
        module = getattr(target, "__module__", None) or type(thread).__module__
        known[thread.native_id] = module.split(".")[0] in RUNNER_MODULES
    return frozenset(t for t in tids if t != main and known.get(t, True))


def _threads() -> int:
    """This process's thread count, in one stat (a directory's links: 2 + its entries)."""
    try:
        return os.stat(TASKS).st_nlink
    except OSError:
        return 0


class Client:
    def __init__(self, observe: bool = True) -> None:
        #: A monitor observes the tests through /proc; without one, only timeouts are acted on.
        self.observe = observe
        self.proc: subprocess.Popen[bytes] | None = None
        self.ctrl = -1
        self.result = -1
        self.seq = 0
        self.main_tid = 0
        self.nlink = -1
        self.ignore: frozenset[int] = frozenset()
        self.record: Record | None = None
        self.inbox: list[list[str]] = []
        self.buffer = b""
        self.poller = select.poll()
        self.previous_handler: Any = None
        self.busy = False
        self.leftover: list[threading.Thread] = []
        #: pytest-timeout armed its alarm before the test it is for was armed here.
        self.alarm_pending = False

    # -- the monitor process ------------------------------------------------------------------

    def start(self) -> None:
        ctrl_r, self.ctrl = os.pipe()
        self.result, result_w = os.pipe()
        # -S: no site at start-up (the monitor loads it at its first sample); by path, not -m:
        # ``joinstall.plugin`` would import pytest. A session of quick tests pays ~10 ms of CPU.
        argv = [sys.executable, "-S", MONITOR, str(os.getpid()), str(ctrl_r), str(result_w), str(int(SIGNAL))]
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(ctrl_r, result_w),
            )  # fmt: skip
        finally:
            os.close(ctrl_r)
            os.close(result_w)
        self.poller.register(self.result, select.POLLIN)
        # A test's forked children must not keep the monitor's pipes open (nor write to them).
        os.register_at_fork(after_in_child=self._forget)
        if threading.current_thread() is threading.main_thread():
            self.previous_handler = signal.signal(SIGNAL, self._on_signal)
            # Without our handler the signal would end pytest: 0 tells the monitor not to send
            # it (it then frees the test by killing the stuck processes).
            self.main_tid = threading.main_thread().native_id or 0

    def _forget(self) -> None:
        for fd in (self.ctrl, self.result):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.ctrl = self.result = -1
        self.proc = None
        self.record = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def close(self) -> None:
        """End the monitor (EOF on its pipe) and reap it; give the signal back."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for fd in (self.ctrl, self.result):
            with contextlib.suppress(OSError):
                if fd >= 0:
                    os.close(fd)
        self.ctrl = self.result = -1
        with contextlib.suppress(OSError):
            proc.terminate()  # it would see EOF only at its next wake-up
        try:
            proc.wait(CLOSE_WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self.previous_handler is not None:
            with contextlib.suppress(ValueError):  # not in the main thread: leave it installed
                signal.signal(SIGNAL, self.previous_handler)

    def _send(self, text: str) -> None:
        with contextlib.suppress(OSError):  # the monitor died: the test simply goes unwatched
            os.write(self.ctrl, text.encode())

    # -- the test's thread --------------------------------------------------------------------

    def arm(self, settings: Settings) -> Record:
        """Start watching one test, setup to teardown: one write."""
        if not self.observe:
            self.seq += 1
            record = self.record = Record(self.seq, settings, threading.get_ident(), frozenset())
            record.started, record.observed = time.time(), False
            return record
        if self.proc is None:
            self.start()
        self.seq += 1
        line = f"A {self.seq} {self.main_tid} {settings.interval!r} {int(settings.stacks)} {time.monotonic()!r}\n"
        nlink = _threads()
        if nlink != self.nlink:  # threads came or went: tell the monitor which are the runner's
            self.nlink, self.ignore = nlink, bystanders()
            line = f"B {' '.join(map(str, sorted(self.ignore)))}\n{line}"
        record = self.record = Record(self.seq, settings, threading.get_ident(), self.ignore)
        if self.alarm_pending:
            line += f"L {self.seq}\n"
            self.alarm_pending = False
        self._send(line)
        return record

    def disarm(self, record: Record) -> None:
        """Stop watching ``record``'s test: one write."""
        if self.observe:
            self._send(f"D {record.seq}\n")
        record.closing = True
        self.leftover = [t for t in (*self.leftover, *record.stuck) if t.is_alive()]

    def check(self, record: Record) -> None:
        """At each phase's report: a proof the signal has not delivered (py-spy freed the
        test while taking its stacks, or the test ended just as it was proven) is taken now."""
        if record.raised or not self.poller.poll(0):
            return
        with self._busy():
            self._check(record)

    def _check(self, record: Record) -> None:
        self._pump(0)
        if self._take(record, "S") is not None:
            record.announced = True
        if record.announced and record.proven is None:
            self._await(record, "P", PROOF_WAIT)
        if record.proven is not None and not record.raised:
            record.raised = True
            self._send(f"H {record.seq}\n")  # the monitor need not kill or signal again
            self._stop(record)

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        """While the result pipe is being read: the signal's handler, run in between, must not
        read it too (it would reorder its bytes); whoever is reading takes the proof itself."""
        self.busy = True
        try:
            yield
        finally:
            self.busy = False

    # -- the result pipe ----------------------------------------------------------------------

    def _pump(self, timeout: float) -> bool:
        """Read what the monitor sent within ``timeout`` seconds; False at EOF."""
        if self.result < 0 or not self.poller.poll(int(timeout * 1000 + 0.999)):
            return self.result >= 0
        try:
            data = os.read(self.result, 65536)
        except InterruptedError:
            return True
        except OSError:
            return False
        if not data:
            self._gone()
            return False
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        self.inbox += [line.decode().split(" ", 2) for line in lines if line]
        for kind, _seq, *rest in self.inbox:
            if kind == "E" and self.record is not None and int(_seq) == self.record.seq:
                self.record.failure = f"joinstall could not observe this test: {rest[0] if rest else '?'}"
        return True

    def _gone(self) -> None:
        """The monitor exited during the session: say so once, and stop listening."""
        self.poller.unregister(self.result)
        os.close(self.result)
        self.result = -1
        status = self.proc.poll() if self.proc is not None else None
        if self.record is not None:
            self.record.failure = f"the monitor process exited (status {status}): tests are no longer watched"

    def _take(self, record: Record, kind: str) -> str | None:
        """The first message of this kind for ``record`` (its argument), dropping stale ones."""
        found = None
        keep = []
        for message in self.inbox:
            if message[0] == kind and int(message[1]) == record.seq and found is None:
                found = message[2] if len(message) > 2 else ""
            elif int(message[1]) >= record.seq:
                keep.append(message)
        self.inbox = keep
        return found

    def _load(self, fd: str) -> dict[str, Any]:
        """What the monitor published in its anonymous file ``fd`` (``{}`` if it is gone)."""
        import json

        try:
            with open(f"{PROC}/{self.pid}/fd/{int(fd)}", "rb") as f:
                found = json.load(f)
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def _diagnosis(self, data: object) -> Diagnosis | None:
        from joinstall.engine import saved
        from joinstall.errors import JoinstallError

        if not data:
            return None
        try:
            return saved.load(data)
        except JoinstallError as exc:
            if self.record is not None:
                self.record.failure = f"joinstall could not read the monitor's diagnosis: {exc.message()}"
            return None

    def _await(self, record: Record, kind: str, seconds: float) -> bool:
        """Wait for a ``kind`` message of ``record`` (a proof counts too); True if one came."""
        deadline = time.monotonic() + seconds
        while True:
            proof = self._take(record, "P")
            if proof is not None and record.proven is None:
                record.proven = self._diagnosis(self._load(proof).get("view"))
            if kind == "P" and record.proven is not None:
                return True
            if kind in ("T", "K"):
                found = self._take(record, kind)
                if found is not None:
                    payload = self._load(found) if found != "-" else {}
                    if kind == "T":
                        record.at_timeout = self._diagnosis(payload.get("view"))
                        record.stacks = dict(payload.get("stacks") or {})
                        record.missing = list(payload.get("missing") or ())
                    if "killed" in payload:
                        record.cleaned = list(payload["killed"])
                    return True
            left = deadline - time.monotonic()
            if left <= 0 or not self._pump(left):
                return False

    # -- the signal ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        record = self.record
        if self.busy:
            return
        if record is None or record.raised:
            with self._busy():
                self._pump(0)  # a late proof of a test that has ended: nothing to interrupt
            return
        # The monitor wrote the proof before it signalled: no waiting, unless the signal is stale.
        with self._busy():
            if not self._await(record, "P", STALE_WAIT) or record.proven is None:
                return
        record.raised = True
        self._send(f"H {record.seq}\n")
        self._stop(record)
        # The handler is installed, and the monitor signals, only when the tests run in the main
        # thread: the same one that runs this handler.
        if not record.closing and record.test_thread == threading.get_ident():
            raise HangProven(report.message(record.proven), pytrace=True)

    def _stop(self, record: Record) -> None:
        from joinstall.plugin import stop

        assert record.proven is not None
        monitor = {self.pid}
        record.killed = sorted(
            {*record.killed, *stop.kill(p for p in record.proven.stuck_pids if p not in monitor)}
        )
        me = os.getpid()
        mine = [t.tid for t in record.proven.threads if t.pid == me and t.stuck and t.tid != me]
        mine = [tid for tid in mine if tid != threading.get_native_id()]
        with stop.quiet_epipe(mine):
            record.unblocked = stop.unblock_threads(mine)
            for thread in stop.stuck_threads(mine):
                thread.join(THREAD_EXIT_WAIT if record.unblocked else 0)
        record.stuck = stop.stuck_threads(mine)

    # -- timeouts -----------------------------------------------------------------------------

    def wrap_alarm(self) -> None:
        """Wrap the SIGALRM handler pytest-timeout just set: its failure gets our view too."""
        previous = signal.getsignal(signal.SIGALRM)
        if not callable(previous) or threading.current_thread() is not threading.main_thread():
            return

        def on_alarm(signum: int, frame: FrameType | None) -> None:
            __tracebackhide__ = True
            record = self.record
            if record is not None and not record.closing and not self.busy:
                self.at_timeout(record, "pytest-timeout fired", time.monotonic())
            previous(signum, frame)

        signal.signal(signal.SIGALRM, on_alarm)
        if not self.observe:
            return
        # Tell the monitor this test's SIGALRM is pytest-timeout's: it may then prove a hang
        # that only that alarm could end (any other handled SIGALRM keeps a wait open).
        record = self.record
        if record is not None and not record.closing:
            self._send(f"L {record.seq}\n")
        else:
            self.alarm_pending = True

    def wrap_timer(self, timer: threading.Timer, show: Callable[[Record], None]) -> None:
        """Wrap the function of pytest-timeout's timer thread (its thread method), which prints
        the stacks of pytest's threads and ends pytest with ``os._exit``: first our view and the
        stacks (``show`` prints them), then pytest-timeout's stacks, then the test's processes are
        killed (``show`` again), so that its stacks show the test's thread still blocked."""
        previous = timer.function

        def on_timer(*args: Any, **kwargs: Any) -> None:
            record = self.record
            if record is None or record.closing:
                previous(*args, **kwargs)
                return
            self.at_timeout(record, "pytest-timeout fired", time.monotonic(), kill=False)
            show(record)
            module = sys.modules.get("pytest_timeout")
            dump = getattr(module, "dump_stacks", None)
            if not callable(dump):
                self.kill(record)
                show(record)
                previous(*args, **kwargs)
                return

            def dump_then_kill(*args: Any, **kwargs: Any) -> None:
                dump(*args, **kwargs)
                self.kill(record)
                show(record)

            module.dump_stacks = dump_then_kill  # type: ignore[union-attr]
            try:
                previous(*args, **kwargs)  # ends with os._exit, unless a debugger is attached
            finally:
                module.dump_stacks = dump  # type: ignore[union-attr]

        timer.function = on_timer

    def at_timeout(self, record: Record, what: str, fired: float, *, kill: bool = True) -> None:
        """A timeout fired at ``fired`` (monotonic): take the view, the stacks, and kill the test's
        processes (through the monitor, else here through psutil); a proof in that view counts."""
        record.closing = True  # our own signal must not raise a second failure on top
        if record.raised or record.timeout:
            return
        record.timeout = what
        if not self.observe:
            self._without_proc(record, kill)
            return
        with self._busy():
            self._send(f"Q {record.seq} {fired!r} {int(kill)}\n")
            self._await(record, "T", TIMEOUT_WAIT)
        if record.at_timeout is not None and record.at_timeout.proven and record.proven is None:
            record.proven = record.at_timeout
        if record.proven is not None:
            record.raised = True
            self._send(f"H {record.seq}\n")
            self._stop(record)

    def kill(self, record: Record) -> None:
        """Kill the processes ``record``'s test started (after ``at_timeout(kill=False)``)."""
        if not self.observe:
            from joinstall.plugin import cleanup

            record.cleaned = cleanup.kill_all(cleanup.born_since(os.getpid(), record.started))
            return
        with self._busy():
            self._send(f"K {record.seq}\n")
            self._await(record, "K", TIMEOUT_WAIT)

    def _without_proc(self, record: Record, kill: bool) -> None:
        from joinstall.plugin import cleanup

        procs = cleanup.born_since(os.getpid(), record.started)
        if record.settings.stacks:
            found, missing = cleanup.stacks_of([os.getpid(), *(p.pid for p in procs)])
            record.stacks, record.missing = found, list(missing)
        if kill:
            record.cleaned = cleanup.kill_all(procs)


def own_timeout(exc: BaseException) -> str | None:
    """The name of a test's own timeout exception (``subprocess.TimeoutExpired``), else None."""
    kind = type(exc)
    if not any(c.__name__ in OWN_TIMEOUTS for c in kind.__mro__):
        return None
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def section(record: Record, when: str) -> tuple[str, str] | None:
    """The report section of the phase that saw the proof or the timeout (once)."""
    if record.reported:
        return None
    found = report.section(record, when)
    if found is not None or record.failure:
        record.reported = True
    if found is None and record.failure:
        return report.TITLE, record.failure
    return found
