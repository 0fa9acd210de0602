"""py-spy's stacks: ``py-spy dump --json`` parsed into typed threads and frames, and drawn as text.

``py-spy dump --pid P --json`` prints one process as a list of threads, each with its frames
innermost first. The raw JSON is kept by the capture; these types are what the classifier
reads, and ``render`` is the readable form kept next to it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from joinstall.observe import names


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
    #: The shared library of a native frame (``--native``); py-spy gives Python frames none.
    module: str | None
    line: int
    locals: tuple[Local, ...] | None = None

    @property
    def function(self) -> str:
        """The bare function name: ``BaseProcess.join`` and ``join`` both give ``join``."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def native(self) -> bool:
        """A C frame from ``--native`` (libc, libpython), not Python code.

        Python code lives in ``.py`` files or in pseudo-files such as ``<frozen importlib._bootstrap>``
        and ``<string>``; a recording's placeholders (``<lib>/libc.so.6``) are not those.
        """
        pseudo = self.filename.startswith("<") and self.filename.endswith(">")
        return self.module is not None or not (self.filename.endswith(".py") or pseudo)

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


def render(threads: Sequence[Thread]) -> str:
    """One process's stacks as text: each thread, then its frames ``function (file:line)``, innermost first.

    Native frames are marked, and locals (``--locals``) follow their frame, so the text
    says everything the JSON does that a person would read.
    """
    lines = []
    for t in threads:
        state = "active" if t.active else "idle"
        gil = ", holds the GIL" if t.owns_gil else ""
        lines.append(f"{names.thread(t.pid, t.tid, t.name)} (tid {t.tid}, {state}{gil})")
        if not t.frames:
            lines.append("    (no frames)")
        for f in t.frames:
            lines.append(f"    {f.where()}{'  [native]' if f.native else ''}")
            lines += [f"        {v.name} = {v.repr}" for v in f.locals or () if v.repr is not None]
    return "\n".join(lines)
