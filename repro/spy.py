"""py-spy, one process at a time: run it with a time bound, parse its JSON, label each thread.

``py-spy dump --pid P --json`` dumps exactly one process (``--subprocesses`` is ignored with
``--json``), so a hung tree is dumped PID by PID. Each dump is bounded in time: a py-spy that
hangs is killed with its whole process group, and a dump that fails says why and how to fix it.

The classifier looks at frames as (file, bare function name) pairs, innermost first. That is
what survives across CPython 3.8 to 3.13: from 3.11 py-spy reports qualified names
(``BaseProcess.join``), before that it may report ``join`` alone, and files move between
``multiprocessing`` modules (``popen_fork`` / ``popen_forkserver``) with the start method.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Names the py-spy binary to use; a path that does not exist hides py-spy (a testable "missing").
PYSPY_ENV = "JOINSTALL_PYSPY"
#: One dump of one process takes some 25-40 ms here; five seconds means py-spy is stuck, not slow.
DUMP_TIMEOUT = 5.0


class SpyError(ValueError):
    """py-spy printed something that is not the JSON dump we expect."""


@dataclasses.dataclass(frozen=True)
class Local:
    name: str
    repr: str | None
    arg: bool


@dataclasses.dataclass(frozen=True)
class Frame:
    """One frame as py-spy reports it; ``name`` may be qualified (``Popen.wait``) or bare."""

    name: str
    filename: str
    short_filename: str
    module: str | None
    line: int
    locals: tuple[Local, ...] | None = None

    @property
    def function(self) -> str:
        """The bare function name: ``BaseProcess.join`` and ``join`` both give ``join``."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def native(self) -> bool:
        """A C frame from ``--native`` (libc, libpython), not Python code."""
        return not (self.filename.endswith(".py") or self.filename.startswith("<"))

    @property
    def file(self) -> str:
        """The file as the classifier matches it: ``multiprocessing/queues.py``, ``threading.py``."""
        parts = self.filename.replace("\\", "/").split("/")
        if len(parts) >= 2 and parts[-2] in ("multiprocessing", "concurrent", "futures"):
            return f"{parts[-2]}/{parts[-1]}"
        return parts[-1]

    def where(self) -> str:
        return f"{self.name} ({self.short_filename}:{self.line})"


@dataclasses.dataclass(frozen=True)
class Thread:
    """One thread of one dump. ``frames`` are innermost first, as py-spy prints them."""

    pid: int
    thread_id: int
    os_thread_id: int | None
    name: str | None
    active: bool
    owns_gil: bool
    frames: tuple[Frame, ...]

    @property
    def tid(self) -> int:
        """The kernel thread id (as in ``/proc/PID/task``), or py-spy's own id if unknown."""
        return self.os_thread_id if self.os_thread_id is not None else self.thread_id


def _local(data: Any) -> Local:
    return Local(str(data["name"]), data.get("repr"), bool(data.get("arg", False)))


def _frame(data: Any) -> Frame:
    locals_ = data.get("locals")
    return Frame(
        name=str(data["name"]),
        filename=str(data["filename"]),
        short_filename=str(data.get("short_filename") or data["filename"]),
        module=data.get("module"),
        line=int(data.get("line") or 0),
        locals=tuple(_local(v) for v in locals_) if locals_ else None,
    )


def parse(raw: str | bytes) -> tuple[Thread, ...]:
    """Typed threads from ``py-spy dump --json`` output; SpyError if it is not such a dump."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SpyError(f"py-spy output is not JSON ({exc})") from None
    if not isinstance(data, list):
        raise SpyError("py-spy output is not a list of threads")
    try:
        return tuple(
            Thread(
                pid=int(t["pid"]),
                thread_id=int(t["thread_id"]),
                os_thread_id=None if t.get("os_thread_id") is None else int(t["os_thread_id"]),
                name=t.get("thread_name"),
                active=bool(t.get("active", False)),
                owns_gil=bool(t.get("owns_gil", False)),
                frames=tuple(_frame(f) for f in t["frames"]),
            )
            for t in data
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpyError(f"py-spy output lacks a field the dump format has ({exc!r})") from None


# --- classification ---------------------------------------------------------------------


class Label(str, enum.Enum):
    """What a thread is doing, in the terms of the join-before-get stall."""

    JOIN = "join"
    EXIT_WAIT = "exit_wait"
    FEEDER_WRITE = "feeder_write"
    PUT_WRITE = "put_write"
    SUBPROCESS_WAIT = "subprocess_wait"
    FEEDER_IDLE = "feeder_idle"
    READ = "read"
    OTHER = "other"


DESCRIPTIONS = {
    Label.JOIN: "joining a child process (Process.join)",
    Label.EXIT_WAIT: "waiting at exit for its queue feeder thread to flush",
    Label.FEEDER_WRITE: "queue feeder thread writing the pickled message into the pipe",
    Label.PUT_WRITE: "writing into the pipe itself (SimpleQueue.put / Connection.send_bytes)",
    Label.SUBPROCESS_WAIT: "waiting for a subprocess to exit (subprocess.Popen.wait)",
    Label.FEEDER_IDLE: "queue feeder thread idle, waiting for messages",
    Label.READ: "reading from a queue or connection",
    Label.OTHER: "none of the stall's roles",
}

# (file, bare function names): the frames that decide a label. Why bare names: py-spy reports
# ``join`` or ``BaseProcess.join`` depending on the interpreter version.
_SEND = ("multiprocessing/connection.py", {"_send", "_send_bytes", "send_bytes", "send"})
_RECV = ("multiprocessing/connection.py", {"_recv", "_recv_bytes", "recv_bytes", "recv"})
_JOIN = (
    ("multiprocessing/process.py", {"join"}),
    ("multiprocessing/popen_fork.py", {"wait", "poll"}),
    ("multiprocessing/popen_forkserver.py", {"wait", "poll"}),
    ("multiprocessing/popen_spawn_posix.py", {"wait", "poll"}),
)
_EXIT = (
    ("multiprocessing/queues.py", {"_finalize_join"}),
    ("multiprocessing/util.py", {"_exit_function", "_run_finalizers"}),
)
_SUBPROCESS_WAIT = ("subprocess.py", {"wait", "_wait", "_try_wait"})
_FEED = ("multiprocessing/queues.py", {"_feed"})
_QUEUE_GET = ("multiprocessing/queues.py", {"get"})
_QUEUE_PUT = ("multiprocessing/queues.py", {"put"})
_BOOTSTRAP = ("multiprocessing/process.py", {"_bootstrap"})


def _is(frame: Frame, rule: tuple[str, set[str]]) -> bool:
    return frame.file == rule[0] and frame.function in rule[1]


def _any(frame: Frame, rules: Iterable[tuple[str, set[str]]]) -> bool:
    return any(_is(frame, r) for r in rules)


@dataclasses.dataclass(frozen=True)
class Classified:
    """A thread's label, the frame that decided it, and whether it runs a multiprocessing child."""

    pid: int
    tid: int
    name: str | None
    label: Label
    frame: Frame | None
    #: The process runs a multiprocessing child's target (``BaseProcess._bootstrap`` is on a stack).
    mp_child: bool

    @property
    def description(self) -> str:
        if self.label is Label.OTHER and self.frame is None:
            return "no Python frames"
        return DESCRIPTIONS[self.label]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "tid": self.tid,
            "name": self.name,
            "label": self.label.value,
            "description": self.description,
            "frame": self.frame.where() if self.frame else None,
            "mp_child": self.mp_child,
        }


def label_of(frames: tuple[Frame, ...]) -> tuple[Label, Frame | None]:
    """The label decided by the innermost frame that any rule knows, and that frame.

    Innermost first matters: a fork child's main thread still carries the parent's frames
    (``BaseProcess.start`` ...) below ``_bootstrap``, and a parent exiting runs ``join`` inside
    ``_exit_function``; the innermost known frame says what the thread waits for now.
    """
    py = [f for f in frames if not f.native]
    for i, frame in enumerate(py):
        outer = py[i + 1 :]
        if _is(frame, _SEND):
            if any(_is(f, _FEED) for f in outer):
                return Label.FEEDER_WRITE, next(f for f in outer if _is(f, _FEED))
            put = next((f for f in outer if _is(f, _QUEUE_PUT)), None)
            return Label.PUT_WRITE, put or frame
        if _is(frame, _RECV) or _is(frame, _QUEUE_GET):
            return Label.READ, frame
        if _any(frame, _JOIN):
            # Report the join itself rather than the popen helper when it is on the stack.
            join = next((f for f in py[i:] if _is(f, _JOIN[0])), frame)
            return Label.JOIN, join
        if _any(frame, _EXIT):
            return Label.EXIT_WAIT, frame
        if _is(frame, _SUBPROCESS_WAIT):
            outer_wait = next((f for f in py[i:] if f.function == "wait" and _is(f, _SUBPROCESS_WAIT)), frame)
            return Label.SUBPROCESS_WAIT, outer_wait
        if _is(frame, _FEED):
            return Label.FEEDER_IDLE, frame
    return Label.OTHER, py[0] if py else None


def classify(thread: Thread) -> Classified:
    label, frame = label_of(thread.frames)
    mp_child = any(_is(f, _BOOTSTRAP) for f in thread.frames)
    return Classified(thread.pid, thread.tid, thread.name, label, frame, mp_child)


# --- running py-spy -----------------------------------------------------------------------


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


def _problem_of(stderr: str) -> Problem:
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


def dump(
    pid: int,
    *,
    binary: str | None = None,
    timeout: float = DUMP_TIMEOUT,
    native: bool = False,
    locals_: bool = False,
) -> Dump:
    """Run ``py-spy dump --pid PID --json`` once, bounded by ``timeout`` seconds."""
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
    # It is faster too (~40 ms against ~70 ms here). --native needs the process stopped.
    argv.append("--native" if native else "--nonblocking")
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
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        took = time.monotonic() - start
        return Dump(pid, None, (), Problem.TIMEOUT, f"py-spy gave no answer within {timeout:g} s", took)
    finally:
        if proc.poll() is None:  # an exception other than the timeout: never leave it behind
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    took = time.monotonic() - start
    text = err.decode(errors="replace")
    if proc.returncode != 0:
        return Dump(pid, None, (), _problem_of(text), _first_line(text) or f"exit {proc.returncode}", took)
    raw = out.decode(errors="replace")
    try:
        threads = parse(raw)
    except SpyError as exc:
        return Dump(pid, raw, (), Problem.FAILED, str(exc), took)
    return Dump(pid, raw, threads, None, "", took)
