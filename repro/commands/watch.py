"""Run a command, and stop it the moment a hang in its process tree is proven (like timeout(1)).

`joinstall watch [options] -- CMD [ARGS...]` runs CMD with the same stdin, stdout and stderr,
forwards SIGINT and SIGTERM to it, and exits with CMD's own status (128+N if a signal N ended
it). Meanwhile it samples CMD's process tree; once a hang is proven (a closed wait-for cycle:
the join-before-get stall, a deadlock), it prints the diagnosis to stderr (--json FILE: also as
JSON), kills the whole tree and exits 86. A slow but live command runs to its end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from joinstall import defaults
from joinstall.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from joinstall.engine import Diagnosis

NAME = "watch"
#: One table of defaults: the same interval and bound for ``watch`` and the plugin.
INTERVAL = defaults.INTERVAL
MAX_INTERVAL = defaults.MAX_INTERVAL
FORWARDED = (signal.SIGINT, signal.SIGTERM)


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


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--interval", type=interval, default=INTERVAL, metavar="SECONDS",
        help="seconds between two samples of the command's tree (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--json", type=Path, metavar="FILE", help="on a proven hang, also write the diagnosis here"
    )
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

    from joinstall import reaper
    from joinstall.observe import procfs

    with reaper.session(argv) as proc, _forwarding(proc.pid):
        if not procfs.available():
            print("joinstall watch: note: no /proc here; running the command unwatched", file=sys.stderr)
            return _status(proc.wait())
        hung = _watch(proc, args.interval)
        if hung is None:
            return _status(proc.returncode)
        _report(hung, proc.pid, argv, args)
        _kill_tree(proc.pid)
        return int(ExitCode.HANG_PROVEN)


def _watch(proc: subprocess.Popen[bytes], every: float) -> Diagnosis | None:
    """Sample until the command ends (None) or a hang is proven (its Diagnosis)."""
    from joinstall.engine import Watcher

    watcher = Watcher(proc.pid)
    while True:
        try:
            proc.wait(timeout=every)
            return None
        except subprocess.TimeoutExpired:
            pass
        proven = watcher.step()
        if proven is not None and proc.poll() is None:
            return proven


def _report(proven: Diagnosis, pid: int, argv: list[str], args: argparse.Namespace) -> None:
    from joinstall.engine import capture_stacks
    from joinstall.engine.diagnosis import WIDTH

    if not args.no_stacks:
        proven = capture_stacks(proven)
    head, tail = "joinstall watch: hang proven in ", f" (pid {pid}); stopping its process tree"
    command, room = shlex.join(argv), WIDTH - len(head) - len(tail)
    if len(command) > room:  # one line within WIDTH columns, however long the command
        command = command[: room - 3] + "..."
    print(
        head + command + tail + "\n" + proven.text(stacks=not args.no_stacks),
        file=sys.stderr,
        flush=True,
    )
    if args.json is not None:
        args.json.write_text(json.dumps(proven.to_dict(), indent=2) + "\n")
        print(f"joinstall watch: diagnosis written to {args.json}", file=sys.stderr)


def _kill_tree(pid: int) -> None:
    """Kill the command and every descendant, also those that left its session (we adopt orphans)."""
    import psutil

    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        procs = []
    from joinstall import reaper

    # Semaphores first: the kill also takes the resource tracker that would unlink them.
    reaper.kill_and_clean([p.pid for p in procs])
    psutil.wait_procs(procs, timeout=5)


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
