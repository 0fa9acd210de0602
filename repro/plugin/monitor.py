"""The monitor process: one per pytest session (per xdist worker), outside the pytest process.

A thread inside pytest would make every test's ``os.fork()`` (each ``multiprocessing`` fork
child) a fork of a multi-threaded process, which CPython 3.12+ warns about, and under
``filterwarnings = error`` fails. So the pytest process (``client.py``) starts this one with
``subprocess`` at its first watched test and drives it through a control pipe, one short line
at a time:

* ``B TID ...``                   bystanders: threads of pytest that can never end a test's hang;
* ``A SEQ TID INTERVAL STACKS WHEN``  a test started at WHEN (monotonic clock): watch pytest's
                                  tree from WHEN + INTERVAL on; TID is pytest's main thread;
* ``D SEQ``                       the test ended (its teardown too): stop watching;
* ``H SEQ``                       the proof of test SEQ was received: no need to kill on its behalf;
* ``Q SEQ WHEN KILL``             a timeout fired at WHEN (monotonic): send the view then, with
                                  the stacks, and (KILL = 1) kill the test's processes;
* ``K SEQ``                       kill the test's processes now;
* ``L SEQ``                       test SEQ's SIGALRM handler is pytest-timeout's (the plugin wraps
                                  it): a wait only that alarm could end may be proven.

It answers on a result pipe: ``S SEQ`` (a hang is proven, the stacks are being taken), then
``P SEQ FD`` (the proof, with its evidence), or ``T SEQ FD`` (the view asked for, with the
stacks of every process of the test and the processes killed after them; ``-`` for none), or
``K SEQ FD`` (the processes killed), or ``E SEQ TEXT`` (the monitor failed on this test). FD is
an anonymous file (``memfd``) the monitor holds open until pytest has read it, as
``/proc/MONITOR/fd/FD``: nothing is written to the file system, so nothing is left behind when
either process is killed, and the result pipe carries only short lines, which never fill it and
block the monitor while pytest is stuck in its test. After ``P`` it interrupts pytest's main
thread itself with ``tgkill``: a process-directed signal may be handled by another thread and
leave the main thread's blocked call running.

At every sample the monitor also walks pytest's tree and remembers the processes born during
the test (``cleanup.Descendants``): at a timeout it kills them all, those that left the tree
(daemons, orphans) included.

Nothing is sampled before a test has run for one interval, and the engine is imported at the
first sample: a suite of quick tests costs two small writes per test and nothing here.
The monitor dies with pytest: EOF on the control pipe, or ``PR_SET_PDEATHSIG``.

Run as ``python -m joinstall.plugin.monitor PID CTRL_FD RESULT_FD SIGNAL``; the client runs
this file by its path with ``-S`` instead, which spares each session's start importing pytest
(this package's ``__init__``), ``site`` and an editable install's finder: those wait for the
first sample.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import time

# Neither ``typing`` nor ``contextlib``: with ``site``, they were half of the start-up's cost.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from joinstall.engine import Diagnosis, Watcher
    from joinstall.plugin.cleanup import Descendants

#: How long pytest's signal handler may take to say it received a proof before the monitor
#: kills the stuck processes itself (the main thread may sit in a C call that retries on
#: EINTR; killing its partner returns it to Python, where the pending signal is handled).
GRACE = 2.0
#: The longest sleep between two reads of the control pipe, whatever a test's interval: the
#: next test's first sample and a timeout's request (pytest waits in its handler) must not wait
#: for a marker's ``interval=30``.
MAX_TICK = 0.25
PR_SET_PDEATHSIG = 1
#: Where /proc is; overridable so that tests can play a platform without one.
PROC = os.environ.get("JOINSTALL_PROCFS", "/proc")
#: ``tgkill`` by syscall number where libc has no wrapper (glibc before 2.30).
SYS_TGKILL = {"x86_64": 234, "aarch64": 131, "i686": 270, "i386": 270, "armv7l": 268, "ppc64le": 250}


class Phase:
    """One watched test, from its setup to its teardown (a plain class: the monitor starts
    without importing ``dataclasses``, which costs more than the rest of its start-up)."""

    def __init__(self, seq: int, tid: int, interval: float, stacks: bool, armed: float) -> None:
        self.seq = seq
        self.tid = tid
        self.interval = interval
        self.stacks = stacks
        #: The first sample: one interval after pytest armed (its clock, CLOCK_MONOTONIC, is ours).
        self.due = armed + interval
        self.watcher: Watcher | None = None
        self.proof: Diagnosis | None = None
        self.handled = False
        self.failed = False
        #: The test's SIGALRM is pytest-timeout's (wrapped by the plugin), not the test's own.
        self.alarm = False
        #: (when it ended, the watcher's state) of the latest two samples.
        self.history: list[tuple[float, Any]] = []
        self.armed = armed
        #: The processes born during the test (made at the first sample).
        self.family: Descendants | None = None


class Monitor:
    def __init__(self, pid: int, ctrl: int, result: int, signum: int) -> None:
        self.pid = pid
        self.ctrl = ctrl
        self.result = result
        self.signum = signum
        self.me = os.getpid()
        #: The anonymous files handed to pytest, by test: closed once it has read them.
        self.published: dict[int, list[int]] = {}
        self.bystanders: frozenset[int] = frozenset()
        self.phase: Phase | None = None
        self.buffer = b""
        self.poller = select.poll()
        self.poller.register(ctrl, select.POLLIN)
        os.set_blocking(ctrl, False)
        #: Seconds between wake-ups: the latest test's interval, at most MAX_TICK.
        self.tick = 0.05

    # -- the control pipe ---------------------------------------------------------------------

    def run(self) -> None:
        """Wake every interval (or when a test's first sample is due), not at every line: a
        passing suite's lines wait in the pipe, and neither process is woken per test."""
        while self.drain():
            phase = self.phase
            wait = self.tick
            if phase is not None and phase.proof is None and not phase.failed:
                wait = phase.due - time.monotonic()
                if wait <= 0:
                    self.sample(phase)
                    continue
            time.sleep(min(wait, self.tick))

    def drain(self) -> bool:
        """Handle every line pytest has written; False at EOF."""
        while True:
            try:
                data = os.read(self.ctrl, 65536)
            except (BlockingIOError, InterruptedError):
                return True
            if not data:
                return False
            self.lines(data)

    def pump(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for lines and handle them; False at EOF."""
        if self.poller.poll(int(timeout * 1000) + 1):
            return self.drain()
        return True

    def lines(self, data: bytes) -> None:
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            self.handle(line.decode().split())

    def handle(self, words: list[str]) -> None:
        if not words:
            return
        kind, args = words[0], words[1:]
        phase = self.phase
        if kind == "B":
            self.bystanders = frozenset(map(int, args))
        elif kind == "A":
            interval = float(args[2])
            self.tick = min(interval, MAX_TICK)
            self.phase = Phase(int(args[0]), int(args[1]), interval, args[3] == "1", float(args[4]))
            self.retire(lambda seq: seq < int(args[0]))  # pytest has read all of the tests before
        elif kind == "D" and phase is not None and phase.seq == int(args[0]):
            self.phase = None
        elif kind == "H":
            self.retire(lambda seq: seq == int(args[0]))
            if phase is not None and phase.seq == int(args[0]):
                phase.handled = True
        elif kind == "L" and phase is not None and phase.seq == int(args[0]):
            phase.alarm = True
        elif kind == "Q":
            self.answer(int(args[0]), float(args[1]), args[2:3] != ["0"])
        elif kind == "K":
            self.send(f"K {args[0]} {self.clean(int(args[0]), {})}")

    def send(self, line: str) -> None:
        try:  # noqa: SIM105  (contextlib costs the start-up more than the rest of this module)
            os.write(self.result, line.encode() + b"\n")
        except OSError:  # pytest has gone: EOF on the control pipe follows
            pass

    def publish(self, seq: int, payload: dict[str, Any]) -> str:
        """``payload`` as JSON in an anonymous file for pytest to read; its fd number."""
        import json

        data = json.dumps(payload).encode()
        fd = os.memfd_create(f"joinstall-{seq}")
        self.published.setdefault(seq, []).append(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        return str(fd)

    def retire(self, done: Callable[[int], bool]) -> None:
        for seq in [seq for seq in self.published if done(seq)]:
            for fd in self.published.pop(seq):
                os.close(fd)

    def evidence(self, diagnosis: Diagnosis) -> dict[str, Any]:
        """The diagnosis with its evidence, as ``joinstall explain`` reads it."""
        from joinstall.engine import saved

        return saved.dump(self.scrub(diagnosis))

    # -- sampling -----------------------------------------------------------------------------

    def ignore(self) -> frozenset[int]:
        """The monitor's threads, its children's (py-spy), and pytest's bystanders."""
        from joinstall.plugin.cleanup import children

        mine = {int(task) for task in _listdir(f"{PROC}/{self.me}/task")}
        return self.bystanders | mine | set(children(self.me))

    def scrub(self, diagnosis: Diagnosis) -> Diagnosis:
        """The diagnosis without the monitor's own process (it is no part of the test)."""
        import dataclasses

        stacks = {pid: text for pid, text in diagnosis.stacks.items() if pid != str(self.me)}
        threads = tuple(t for t in diagnosis.threads if t.pid != self.me)
        missing = tuple(m for m in diagnosis.missing if not m.startswith(f"process {self.me}:"))
        evidence = diagnosis.evidence
        if evidence is not None:
            # Its threads were ignored all along: without them the samples say the same.
            def without(snap: Any) -> Any:
                if snap is None:
                    return None
                return dataclasses.replace(snap, procs=tuple(p for p in snap.procs if p.pid != self.me))

            evidence = dataclasses.replace(
                evidence,
                before=without(evidence.before),
                after=without(evidence.after),
                ignore=frozenset(t for t in evidence.ignore if t[0] != self.me),
            )
        return dataclasses.replace(
            diagnosis, threads=threads, stacks=stacks, missing=missing, evidence=evidence
        )

    def sample(self, phase: Phase) -> None:
        phase.due = time.monotonic() + phase.interval
        try:
            if phase.watcher is None:
                load_site()
                from joinstall.engine import Watcher

                phase.watcher = Watcher(self.pid, ignore_tids=self.ignore())
            else:
                phase.watcher.ignore_tids = self.ignore()
            # The plugin's own signal comes from this monitor, only after a proof; pytest-timeout's
            # SIGALRM is reported on by the plugin itself. A test's own alarm handler is neither.
            known = (signal.SIGALRM, self.signum) if phase.alarm else (self.signum,)
            phase.watcher.known_signals = frozenset(known)
            proven = phase.watcher.step()
            phase.history = [*phase.history[-1:], (time.monotonic(), phase.watcher.latest)]
            self.family(phase).update()
            if proven is not None:
                self.prove(phase, proven)
        except Exception as exc:  # never let the monitor die: report it with the test
            phase.failed = True
            self.send(f"E {phase.seq} {said(exc)}")

    def family(self, phase: Phase) -> Descendants:
        if phase.family is None:
            load_site()
            from joinstall.plugin.cleanup import Descendants

            phase.family = Descendants(self.pid, phase.armed, skip=(self.me,))
        return phase.family

    def prove(self, phase: Phase, proven: Diagnosis) -> None:
        # Said before the stacks are taken: py-spy can end a raw write early and free the test,
        # which still hung; pytest, seeing S in its report hook, waits for the proof.
        self.send(f"S {phase.seq}")
        if phase.stacks:
            from joinstall.engine import capture_stacks

            proven = capture_stacks(proven, ignore_tids=self.ignore())
        phase.proof = proven
        fd = self.publish(phase.seq, {"view": self.evidence(proven)})
        self.pump(0)  # the test may have ended meanwhile (freed by py-spy, or by a timeout)
        self.send(f"P {phase.seq} {fd}")
        if self.phase is not phase:
            return
        self.interrupt(phase)
        deadline = time.monotonic() + GRACE
        while self.phase is phase and not phase.handled:
            left = deadline - time.monotonic()
            if left <= 0:
                # The main thread sits in a call that retries on EINTR: free it by killing.
                self.kill(proven.stuck_pids)
                self.interrupt(phase)
                return
            if not self.pump(left):
                return

    def interrupt(self, phase: Phase) -> None:
        if phase.tid:  # 0: pytest has no handler for the signal (it would end pytest)
            tgkill(self.pid, phase.tid, self.signum)

    def kill(self, pids: tuple[int, ...]) -> None:
        from joinstall.engine.watcher import tree
        from joinstall.plugin.stop import service

        ours = set(tree(self.pid)) - {self.pid, self.me}
        for pid in pids:
            if pid in ours and not service(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    continue

    def answer(self, seq: int, fired: float, kill: bool) -> None:
        """A timeout fired at ``fired`` (monotonic clock): send the view of the latest sample that
        ended before, at most one interval old (a sample taken later would see pytest's main
        thread running the alarm's handler, not blocked where it hung), with py-spy's stacks of
        every process of the test; then (``kill``) kill the processes the test started."""
        phase = self.phase
        if phase is None or phase.seq != seq:
            self.send(f"T {seq} -")
            return
        payload: dict[str, Any] = {"view": None, "stacks": {}, "missing": []}
        try:
            view = self.view(phase, fired)
            if phase.stacks:
                view = self.stacks(phase, view, payload)
            if view is not None:
                payload["view"] = self.evidence(view)
        except Exception as exc:
            self.send(f"E {seq} {said(exc)}")
        self.send(f"T {seq} {self.clean(seq, payload) if kill else self.publish(seq, payload)}")

    def clean(self, seq: int, payload: dict[str, Any]) -> str:
        """Kill the processes test ``seq`` started; publish ``payload`` with them."""
        phase = self.phase
        if phase is None or phase.seq != seq:
            return "-"
        try:
            from joinstall.plugin import cleanup

            payload["killed"] = cleanup.kill(self.family(phase))
        except Exception as exc:
            self.send(f"E {seq} {said(exc)}")
        return self.publish(seq, payload)

    def view(self, phase: Phase, fired: float) -> Diagnosis | None:
        """The view of the latest sample that ended before ``fired``, or None."""
        watcher = phase.watcher
        before = [state for ended, state in phase.history if ended <= fired]
        if watcher is None or not before:
            return None
        latest, watcher.latest = watcher.latest, before[-1]
        try:
            return watcher.last()
        finally:
            watcher.latest = latest

    def stacks(self, phase: Phase, view: Diagnosis | None, payload: dict[str, Any]) -> Diagnosis | None:
        """py-spy's stacks of every process of the test: the view's, and those that left its tree
        (without a view: pytest's and those the test started, into ``payload``)."""
        import dataclasses

        from joinstall.engine import capture_stacks
        from joinstall.plugin import cleanup

        seen = {self.me}
        if view is not None:
            view = capture_stacks(view, ignore_tids=self.ignore())
            seen |= {t.pid for t in view.threads}
        family = self.family(phase)
        family.update()
        others = [pid for pid in [self.pid, *family.alive()] if pid not in seen]
        more, missing = cleanup.stacks_of(others)
        if view is None:
            payload["stacks"], payload["missing"] = more, list(missing)
            return None
        return dataclasses.replace(view, stacks={**view.stacks, **more}, missing=view.missing + missing)


def said(exc: BaseException) -> str:
    """An exception in one line, as a person reads it (not its repr)."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def load_site() -> None:
    """Started with ``-S`` (``site`` and an editable install's finder cost more than the rest of
    the start-up), the monitor finds the installed packages once it needs the engine."""
    if sys.flags.no_site and "site" not in sys.modules:
        import site

        site.main()


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def tgkill(pid: int, tid: int, signum: int) -> None:
    """Signal one thread of another process (Linux); a process-directed signal otherwise."""
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        if hasattr(libc, "tgkill"):
            done = libc.tgkill(pid, tid, signum)
        elif os.uname().machine in SYS_TGKILL:
            done = libc.syscall(SYS_TGKILL[os.uname().machine], pid, tid, signum)
        else:
            done = -1
        if done != 0:
            os.kill(pid, signum)
    except OSError:  # pytest is gone
        pass


def die_with_parent(parent: int) -> bool:
    """Be killed when pytest dies; False when it is already gone."""
    try:  # noqa: SIM105
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    return os.getppid() == parent


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str]) -> int:
    # Run by path, this folder is sys.path[0]: none of its modules may shadow a top-level one
    # when the engine is imported.
    here = os.path.realpath(os.path.dirname(__file__))
    sys.path = [p for p in sys.path if os.path.realpath(p or ".") != here]
    pid, ctrl, result, signum = map(int, argv[:4])
    if not die_with_parent(pid):
        return 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is pytest's to handle; EOF ends us
    signal.signal(signal.SIGTERM, _exit)  # pytest's session ended: at once, even asleep
    monitor = Monitor(pid, ctrl, result, signum)
    try:  # noqa: SIM105
        monitor.run()
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    # pytest waits for us at the end of its session: skip the interpreter's own tear-down.
    os._exit(main(sys.argv[1:]))
