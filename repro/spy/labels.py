"""What a thread is doing, in the terms of the join-before-get stall, decided from its frames.

The classifier looks at frames as (file, bare function name) pairs, innermost first. That is
what survives across CPython 3.8 to 3.13: from 3.11 py-spy reports qualified names
(``BaseProcess.join``), before that it may report ``join`` alone, and files move between
``multiprocessing`` modules (``popen_fork`` / ``popen_forkserver``) with the start method.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from joinstall.spy.stacks import Frame, Thread


class Label(str, enum.Enum):
    """What a thread is doing, in the terms of the join-before-get stall."""

    JOIN = "join"
    EXIT_WAIT = "exit_wait"
    FEEDER_WRITE = "feeder_write"
    PUT_WRITE = "put_write"
    SUBPROCESS_WAIT = "subprocess_wait"
    FEEDER_IDLE = "feeder_idle"
    FEEDER_LOCK = "feeder_lock"
    READ = "read"
    THREAD_JOIN = "thread_join"
    POOL_JOIN = "pool_join"
    POOL_HANDLER = "pool_handler"
    OTHER = "other"


DESCRIPTIONS = {
    Label.JOIN: "joining a child process (Process.join)",
    Label.EXIT_WAIT: "waiting at exit for its queue feeder thread to flush",
    Label.FEEDER_WRITE: "queue feeder thread writing the pickled message into the pipe",
    Label.PUT_WRITE: "writing into the pipe itself (SimpleQueue.put / Connection.send_bytes)",
    Label.SUBPROCESS_WAIT: "waiting for a subprocess to exit (subprocess.Popen.wait)",
    Label.FEEDER_IDLE: "queue feeder thread idle, waiting for messages",
    Label.FEEDER_LOCK: "queue feeder thread waiting for the queue's write lock (another process writes)",
    Label.READ: "reading from a queue or connection",
    Label.THREAD_JOIN: "joining a thread (Thread.join)",
    Label.POOL_JOIN: "joining a pool (Pool.join)",
    Label.POOL_HANDLER: "a pool's handler thread",
    Label.OTHER: "none of the stall's roles",
}
#: Labels of a thread that is a queue feeder, idle, writing or waiting for the write lock.
FEEDERS = frozenset({Label.FEEDER_WRITE, Label.FEEDER_IDLE, Label.FEEDER_LOCK})

Rule = tuple[str, set[str]]
# (file, bare function names): the frames that decide a label. Why bare names: py-spy reports
# ``join`` or ``BaseProcess.join`` depending on the interpreter version.
_SEND: Rule = ("multiprocessing/connection.py", {"_send", "_send_bytes", "send_bytes", "send"})
_RECV: Rule = ("multiprocessing/connection.py", {"_recv", "_recv_bytes", "recv_bytes", "recv"})
_JOIN: tuple[Rule, ...] = (
    ("multiprocessing/process.py", {"join"}),
    ("multiprocessing/popen_fork.py", {"wait", "poll"}),
    ("multiprocessing/popen_forkserver.py", {"wait", "poll"}),
    ("multiprocessing/popen_spawn_posix.py", {"wait", "poll"}),
)
_EXIT: tuple[Rule, ...] = (
    ("multiprocessing/queues.py", {"_finalize_join"}),
    ("multiprocessing/util.py", {"_exit_function", "_run_finalizers"}),
)
_SUBPROCESS_WAIT: Rule = ("subprocess.py", {"wait", "_wait", "_try_wait"})
_FEED: Rule = ("multiprocessing/queues.py", {"_feed"})
_QUEUE_GET: Rule = ("multiprocessing/queues.py", {"get"})
_QUEUE_PUT: Rule = ("multiprocessing/queues.py", {"put"})
_BOOTSTRAP: Rule = ("multiprocessing/process.py", {"_bootstrap"})
_THREAD_JOIN: Rule = ("threading.py", {"join", "_wait_for_tstate_lock"})
_POOL_JOIN: Rule = ("multiprocessing/pool.py", {"join"})
_POOL_HANDLER: Rule = ("multiprocessing/pool.py", {"_handle_workers", "_handle_tasks", "_handle_results"})


def _is(frame: Frame, rule: Rule) -> bool:
    return frame.file == rule[0] and frame.function in rule[1]


def _any(frame: Frame, rules: Iterable[Rule]) -> bool:
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
            feed = next((f for f in outer if _is(f, _FEED)), None)
            if feed is not None:
                return Label.FEEDER_WRITE, feed
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
            # Innermost: the feeder is in a C call of its own, the write lock's acquire; idle, it
            # would sit in threading's Condition.wait below it.
            return (Label.FEEDER_LOCK if i == 0 else Label.FEEDER_IDLE), frame
        if _is(frame, _THREAD_JOIN):
            exit_wait = next((f for f in outer if _any(f, _EXIT)), None)
            if exit_wait is not None:
                return Label.EXIT_WAIT, exit_wait
            pool = next((f for f in outer if _is(f, _POOL_JOIN)), None)
            return (Label.POOL_JOIN, pool) if pool else (Label.THREAD_JOIN, frame)
        if _is(frame, _POOL_JOIN):
            return Label.POOL_JOIN, frame
        if _is(frame, _POOL_HANDLER):
            return Label.POOL_HANDLER, frame
    return Label.OTHER, py[0] if py else None


def classify(thread: Thread) -> Classified:
    label, frame = label_of(thread.frames)
    mp_child = any(_is(f, _BOOTSTRAP) for f in thread.frames)
    return Classified(thread.pid, thread.tid, thread.name, label, frame, mp_child)


#: Classified threads keyed by (pid, tid): what the graph and the capture look threads up by.
Labels = Mapping[tuple[int, int], Classified]


def of(threads: Iterable[Thread]) -> dict[tuple[int, int], Classified]:
    """Every thread classified, keyed by (pid, tid)."""
    return {(c.pid, c.tid): c for c in map(classify, threads)}
