"""Run a command, and stop it the moment a hang in its process tree is proven (like timeout(1)).

`joinstall watch [options] -- CMD [ARGS...]` runs CMD with the same stdin, stdout and stderr,
forwards SIGINT and SIGTERM to it, and exits with CMD's own status (128+N if a signal N ended
it). Meanwhile it samples CMD's process tree; once a hang is proven (a closed wait-for cycle:
the join-before-get stall, a deadlock), it prints the diagnosis to stderr (--json FILE: also as
JSON; --save FILE: with its evidence, for `joinstall explain`), kills the whole tree and exits
86. A slow but live command runs to its end, or to --timeout: then what each thread waited on,
py-spy's stacks of every process and the processes killed go to stderr, and it exits 124.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from joinstall import defaults
from joinstall.errors import ExitCode, UsageError

if TYPE_CHECKING:
    import psutil
    from joinstall.engine import Diagnosis

NAME = "watch"
#: One table of defaults: the same interval and bound for ``watch`` and the plugin.
INTERVAL = defaults.INTERVAL
MAX_INTERVAL = defaults.MAX_INTERVAL
FORWARDED = (signal.SIGINT, signal.SIGTERM)
#: timeout(1)'s suffixes: seconds, minutes, hours, days.
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
NO_PROC = (
    "joinstall watch: hangs are not proven on this platform (no Linux /proc to observe processes"
    " through); the command runs unwatched, and at --timeout joinstall still takes py-spy's stacks"
    " of its processes (where py-spy may attach) and kills them"
)
WHOSE = "the command"


def interval(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an interval: use seconds, more than 0 and at most {MAX_INTERVAL:g}"
        )
    return seconds


def duration(text: str) -> float:
    """Seconds, as timeout(1) reads them: ``90``, ``1.5``, ``10s``, ``2m``, ``1h``, ``1d``."""
    number, unit = text.strip(), ""
    if number[-1:].isalpha() and number[-1] in UNITS:
        number, unit = number[:-1], number[-1]
    try:
        seconds = float(number) * UNITS[unit]
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: use seconds, more than 0, or a number with s, m, h or d (10s, 2m)"
        )
    return seconds


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--interval", type=interval, default=INTERVAL, metavar="SECONDS",
        help="seconds between two samples of the command's tree (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--timeout", type=duration, metavar="DURATION",
        help="stop the command after this long (seconds, or 10s, 2m, 1h): say what each thread waits"
        " on, take py-spy's stacks, kill every process of it and exit 124, as timeout(1) does",
    )  # fmt: skip
    p.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="on a proven hang or at --timeout, also write the diagnosis here",
    )
    p.add_argument(
        "--save", type=Path, metavar="FILE",
        help="on a proven hang or at --timeout, save the diagnosis with its evidence here, for"
        " `joinstall explain FILE` later, on any machine",
    )  # fmt: skip
    p.add_argument("--no-stacks", action="store_true", help="leave py-spy's stacks out of the diagnosis")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="the command to run")


def run(args: argparse.Namespace) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise UsageError("no command given: write `joinstall watch [options] -- CMD [ARGS...]`")
    if shutil.which(argv[0]) is None:
        raise UsageError(f"{argv[0]!r} is not an executable file or a command on PATH")
    if args.json is not None and (args.json.is_dir() or not args.json.parent.is_dir()):
        raise UsageError(f"--json {args.json}: not a file in an existing directory")
    if args.save is not None:
        from joinstall.engine import saved

        saved.check_target(args.save, option="--save")

    from joinstall import reaper
    from joinstall.observe import procfs

    with reaper.session(argv) as proc, _forwarding(proc.pid):
        deadline = None if args.timeout is None else time.monotonic() + args.timeout
        if not procfs.available():
            print(NO_PROC, file=sys.stderr, flush=True)
            if _ended(proc, deadline):
                return _status(proc.returncode)
            _unobserved(proc, argv, args)
            return int(ExitCode.TIMED_OUT)
        found, timed_out = _watch(proc, args.interval, deadline)
        if found is None:
            return _status(proc.returncode)
        if not args.no_stacks:
            found = _stacks(found, proc)
        killed = _kill_tree(proc)
        _report(found, proc.pid, argv, args, killed if timed_out else None)
        return int(ExitCode.TIMED_OUT if timed_out else ExitCode.HANG_PROVEN)


def _ended(proc: subprocess.Popen[bytes], deadline: float | None) -> bool:
    """Wait for the command to end (True), or for the deadline (False)."""
    try:
        proc.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return False
    return True


def _watch(
    proc: subprocess.Popen[bytes], every: float, deadline: float | None
) -> tuple[Diagnosis | None, bool]:
    """Sample until the command ends (None), a hang is proven (its Diagnosis), or the deadline
    passes (the latest view, and True)."""
    from joinstall.engine import Watcher

    watcher = Watcher(proc.pid)
    while True:
        wait = every if deadline is None else min(every, max(0.0, deadline - time.monotonic()))
        if _ended(proc, time.monotonic() + wait):
            return None, False
        proven = watcher.step()
        if proven is not None and proc.poll() is None:
            return proven, False
        if deadline is not None and time.monotonic() >= deadline:
            return watcher.last(), True


def _stacks(found: Diagnosis, proc: subprocess.Popen[bytes]) -> Diagnosis:
    """py-spy's stacks of every process of the command: the diagnosis's, and those that left its tree."""
    from joinstall.engine import capture_stacks
    from joinstall.plugin import cleanup

    found = capture_stacks(found)
    seen = {t.pid for t in found.threads}
    more, missing = cleanup.stacks_of([p.pid for p in _descendants(proc) if p.pid not in seen])
    return dataclasses.replace(found, stacks={**found.stacks, **more}, missing=found.missing + missing)


def _headline(timed_out: bool, pid: int, argv: list[str], args: argparse.Namespace) -> str:
    """One line within the report's width, however long the command."""
    from joinstall.engine.diagnosis import WIDTH

    if timed_out:
        head, tail = (
            f"joinstall watch: not proven when --timeout {args.timeout:g}s expired: ",
            f" (pid {pid})",
        )
    else:
        head, tail = "joinstall watch: hang proven in ", f" (pid {pid}); stopping its process tree"
    command, room = shlex.join(argv), WIDTH - len(head) - len(tail)
    if len(command) > room:
        command = command[: max(room - 3, 10)] + "..."
    return head + command + tail


def _report(
    found: Diagnosis, pid: int, argv: list[str], args: argparse.Namespace, killed: list[str] | None
) -> None:
    """The diagnosis of a proven hang, or (``killed`` given) what the timeout found, to stderr;
    then the files it is written to."""
    from joinstall.plugin import report

    if found.proven:
        text = found.text(stacks=not args.no_stacks)
        if killed is not None:  # proven by the very sample the timeout took
            text += "\n" + report.killed_line(killed, WHOSE)
    else:
        text = report.not_proven(found, stacks=not args.no_stacks, killed=killed or [], of=WHOSE)
    print(_headline(killed is not None, pid, argv, args) + "\n" + text, file=sys.stderr, flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(found.to_dict(), indent=2) + "\n")
        print(f"joinstall watch: diagnosis written to {args.json}", file=sys.stderr)
    if args.save is not None:
        from joinstall.engine import saved

        saved.write(args.save, found)
        print(
            f"joinstall watch: saved the diagnosis to {args.save}; read it on any machine with"
            f" `joinstall explain {args.save}`",
            file=sys.stderr,
        )


def _unobserved(proc: subprocess.Popen[bytes], argv: list[str], args: argparse.Namespace) -> None:
    """At the timeout without /proc: py-spy's stacks of every process, then psutil kills them."""
    from joinstall.plugin import cleanup, report

    procs = _descendants(proc)
    stacks, missing = cleanup.stacks_of([p.pid for p in procs]) if not args.no_stacks else ({}, ())
    killed = cleanup.kill_all(procs)
    text = report.not_proven(
        None, stacks=True, more_stacks=stacks, missing=missing, killed=killed, observed=False, of=WHOSE
    )
    print(_headline(True, proc.pid, argv, args) + "\n" + text, file=sys.stderr, flush=True)


def _descendants(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """Every process of the command, those that left its session and were re-parented to us
    included (the session made us a subreaper: we adopt orphans); the reaper's watchdog aside."""
    import psutil
    from joinstall import reaper

    watchdog = ["/bin/sh", "-c", reaper._WATCHDOG]
    out = []
    for p in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if p.pid == proc.pid or p.cmdline() != watchdog:
                out.append(p)
    return out


def _kill_tree(proc: subprocess.Popen[bytes]) -> list[str]:
    """Kill the command and every descendant, also those that left its session; return them as
    ``pid (name)``."""
    import psutil
    from joinstall import reaper

    procs = sorted(_descendants(proc), key=lambda p: p.pid)
    names = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            if p.status() != psutil.STATUS_ZOMBIE:
                names.append(f"{p.pid} ({p.name()})")
    # Semaphores first: the kill also takes the resource tracker that would unlink them.
    reaper.kill_and_clean([p.pid for p in procs])
    psutil.wait_procs(procs, timeout=5)
    return names


@contextlib.contextmanager
def _forwarding(pgid: int):  # type: ignore[no-untyped-def]
    """While the command runs, SIGINT and SIGTERM go to its process group, as a terminal's would."""

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _status(returncode: int) -> int:
    """CMD's status as a shell reports it: its exit code, or 128+N when signal N ended it."""
    return returncode if returncode >= 0 else 128 - returncode
