"""Running py-spy: find the binary, dump one process within a time bound, say why a dump is missing.

``py-spy dump --pid P --json`` dumps exactly one process (``--subprocesses`` is ignored with
``--json``), so a hung tree is dumped PID by PID. Each dump is bounded in time: a py-spy that
hangs is killed with its whole process group, and a dump that fails says why and how to fix it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol

from joinstall.observe import procfs
from joinstall.spy.stacks import SpyError, Thread, parse

#: Names the py-spy binary to use; a path that does not exist hides py-spy (a testable "missing").
PYSPY_ENV = "JOINSTALL_PYSPY"
#: One dump of one process took ~15 ms (median, measured on a 2-core Linux VM): five seconds
#: means py-spy is stuck, not slow.
DUMP_TIMEOUT = 5.0
_PYTHON_EXE = re.compile(r"^python(\d+(\.\d+)*)?[a-z]*$")


class ProcLike(Protocol):
    """What ``is_python`` reads of a process (the engine's frozen ``Process`` has it)."""

    @property
    def pid(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def cmdline(self) -> tuple[str, ...]: ...


class Problem(str, enum.Enum):
    """Why a dump is missing; each has a fix a user can apply."""

    MISSING = "missing"
    PERMISSION = "permission"
    NOT_PYTHON = "not_python"
    GONE = "gone"
    TIMEOUT = "timeout"
    FAILED = "failed"


FIXES = {
    Problem.MISSING: "install py-spy (pip install py-spy) next to this Python or on PATH",
    Problem.PERMISSION: (
        "py-spy needs ptrace: run as the process's user or root; in a container add"
        " --cap-add=SYS_PTRACE; with Yama, sysctl kernel.yama.ptrace_scope=0 (or 1 for your own children)"
    ),
    Problem.NOT_PYTHON: "not a Python process: its state comes from /proc alone",
    Problem.GONE: "the process exited before py-spy could read it",
    Problem.TIMEOUT: "py-spy did not answer in time and was killed; retry, or raise the py-spy timeout",
    Problem.FAILED: "py-spy failed; run `py-spy dump --pid PID` by hand to see why",
}


@dataclasses.dataclass(frozen=True)
class Dump:
    """The result of one ``py-spy dump``: the raw JSON and its threads, or why there is none."""

    pid: int
    raw: str | None
    threads: tuple[Thread, ...]
    problem: Problem | None
    error: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.problem is None


def find(binary: str | None = None) -> str | None:
    """The py-spy to run: ``binary``, else $JOINSTALL_PYSPY, else next to this Python, else PATH.

    An explicit path that is not an executable file counts as "py-spy is missing", so that a
    test can hide py-spy without touching the installation.
    """
    explicit = binary or os.environ.get(PYSPY_ENV)
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    beside = Path(sys.executable).parent / "py-spy"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("py-spy")


def is_python(proc: ProcLike) -> bool:
    """Whether py-spy can be expected to read this process (a CPython): by the executable a
    snapshot recorded, else by /proc, else by its command line."""
    exe = getattr(proc, "exe", "")
    if not exe:
        try:
            exe = os.path.basename(os.readlink(f"{procfs.PROC}/{proc.pid}/exe"))
        except OSError:  # gone, or another user's: fall back on what psutil could read
            exe = os.path.basename(proc.cmdline[0]) if proc.cmdline else proc.name
    if _PYTHON_EXE.match(exe) or _PYTHON_EXE.match(proc.name):
        return True
    try:
        with open(f"{procfs.PROC}/{proc.pid}/maps") as f:
            return "libpython" in f.read()
    except OSError:
        return False


def problem_of(stderr: str) -> Problem:
    """Map py-spy's error text to a Problem (messages as py-spy 0.3/0.4 prints them)."""
    low = stderr.lower()
    if "permission denied" in low or "operation not permitted" in low or "sys_ptrace" in low:
        return Problem.PERMISSION
    if "failed to find python version" in low or "failed to find python interpreter" in low:
        return Problem.NOT_PYTHON
    if "no such file" in low or "no such process" in low or "check that the process is running" in low:
        return Problem.GONE
    return Problem.FAILED


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def dump(
    pid: int,
    *,
    binary: str | None = None,
    timeout: float = DUMP_TIMEOUT,
    native: bool = False,
    locals_: bool = False,
    blocking: bool = False,
) -> Dump:
    """Run ``py-spy dump --pid PID --json`` once, bounded by ``timeout`` seconds.

    ``blocking``: stop the process while reading it. Only then does py-spy give OS thread ids
    on CPython 3.8; use it on a tree proven idle, never on a live one.
    """
    start = time.monotonic()
    exe = find(binary)
    if exe is None:
        named = binary or os.environ.get(PYSPY_ENV)
        where = f"{named} is not an executable file" if named else "py-spy is not installed"
        return Dump(pid, None, (), Problem.MISSING, where, 0.0)
    argv = [exe, "dump", "--pid", str(pid), "--json"]
    # Why --nonblocking: py-spy then reads memory without stopping the process, so it neither
    # interrupts the hung syscalls it is asked to explain (a stopped poll comes back as
    # restart_syscall, a stopped write as a shorter one) nor pauses a production process.
    # --native needs the process stopped.
    if not (native or blocking):
        argv.append("--nonblocking")
    if native:
        argv.append("--native")
    if locals_:
        argv.append("--locals")
    # Why no backtrace: a Rust backtrace would bury py-spy's one-line reason.
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    # Why a new session: a py-spy (or wrapper script) that hangs is killed with all it started.
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        took = time.monotonic() - start
        return Dump(pid, None, (), Problem.TIMEOUT, f"py-spy gave no answer within {timeout:g} s", took)
    finally:
        if proc.poll() is None:  # an exception other than the timeout: never leave it behind
            _kill_group(proc)
            proc.wait()
    took = time.monotonic() - start
    text = err.decode(errors="replace")
    if proc.returncode != 0:
        return Dump(pid, None, (), problem_of(text), _first_line(text) or f"exit {proc.returncode}", took)
    raw = out.decode(errors="replace")
    try:
        threads = parse(raw)
    except SpyError as exc:
        return Dump(pid, raw, (), Problem.FAILED, str(exc), took)
    return Dump(pid, raw, threads, None, "", took)
