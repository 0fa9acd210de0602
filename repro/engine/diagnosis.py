"""The typed result of a diagnosis: one vocabulary for ``run``, ``spy``, ``watch``, the plugin and the API.

Verdicts:

* ``stalled``    a proven cycle through a full pipe (the join-before-get family): nothing can
                 ever drain the pipe, so the writer, and whoever waits for it, waits for ever
                 (or until a timeout in the cycle ends);
* ``deadlocked`` a proven cycle with no full pipe: locks, joins, an empty pipe that only a
                 waiting thread could write;
* ``blocked``    threads wait, but the cycle is not closed: something live can still break it
                 (``breaker`` says what: a sleeping reader, a running thread, a socket);
* ``running``    no thread waits on another.
"""

from __future__ import annotations

import dataclasses
import enum
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from joinstall.engine.evidence import Evidence

#: Bumped whenever a field changes meaning; readers refuse other versions.
SCHEMA = 1
WIDTH = 100


class Verdict(str, enum.Enum):
    STALLED = "stalled"
    DEADLOCKED = "deadlocked"
    BLOCKED = "blocked"
    RUNNING = "running"

    @property
    def proven(self) -> bool:
        """A hang was proven: a closed cycle, seen twice with no progress between."""
        return self in (Verdict.STALLED, Verdict.DEADLOCKED)


@dataclasses.dataclass(frozen=True)
class ThreadInfo:
    """One thread as the diagnosis saw it: what it waits on, and whether it is stuck."""

    pid: int
    tid: int
    process: str
    name: str
    state: str
    syscall: str
    wchan: str
    wait: str
    what: str
    stuck: bool
    timeout: float | None = None
    #: What py-spy's frames say the thread is doing (``queue feeder thread writing ...``).
    role: str | None = None
    frame: str | None = None


@dataclasses.dataclass(frozen=True)
class PipeInfo:
    inode: int
    fill: int
    capacity: int


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    verdict: Verdict
    root: int
    #: One sentence: the verdict and its reason.
    summary: str
    #: The cycle in words, a line per wait; empty unless proven.
    cycle: tuple[str, ...]
    #: Stuck threads that wait for the cycle without being on it.
    behind: tuple[str, ...]
    #: ``blocked``: what can still break the wait, in words.
    breaker: str
    #: A timed hang: seconds until the earliest timeout in the cycle ends (an upper bound).
    until: float | None
    fix: str
    threads: tuple[ThreadInfo, ...]
    pipes: tuple[PipeInfo, ...]
    #: Processes with a thread in the proven cycle or stuck behind it: what to stop.
    stuck_pids: tuple[int, ...]
    samples: int
    seconds: float
    #: py-spy's rendered stacks, by pid (as a string, for JSON); empty when not captured.
    stacks: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Why stacks are missing for some processes, with the fix.
    missing: tuple[str, ...] = ()
    #: ``stalled``: the full pipe on the cycle (its fill and capacity).
    full_pipe: PipeInfo | None = None
    #: The threads of the cycle as (pid, tid), in the order of ``cycle``'s lines.
    cycle_threads: tuple[tuple[int, int], ...] = ()
    #: A proven hang's cause in a sentence or two, where one is recognised ("worker 123 of the
    #: Pool is gone ..."): it never changes the verdict, only explains it.
    cause: str = ""
    #: What the verdict was computed from (the samples of the proof, the settings, py-spy's
    #: thread names): ``Evidence.describe`` computes it again, anywhere (``capture_stacks`` with
    #: stacks, ``joinstall explain`` from a saved file). None for a diagnosis read from JSON.
    evidence: Evidence | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def proven(self) -> bool:
        return self.verdict.proven

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "evidence"}
        out["verdict"] = self.verdict.value
        out["threads"] = [dataclasses.asdict(t) for t in self.threads]
        out["pipes"] = [dataclasses.asdict(p) for p in self.pipes]
        out["stacks"] = dict(self.stacks)
        out["full_pipe"] = dataclasses.asdict(self.full_pipe) if self.full_pipe else None
        # The rendered report too, so that a reader of the JSON needs no joinstall to show it.
        out["text"] = self.text()
        for key in ("cycle", "behind", "stuck_pids", "missing"):
            out[key] = list(out[key])
        out["cycle_threads"] = [list(t) for t in self.cycle_threads]
        return {"schema": SCHEMA, "kind": "diagnosis", **out}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Diagnosis:
        if data.get("schema") != SCHEMA or data.get("kind") != "diagnosis":
            raise ValueError(f"not a joinstall diagnosis of schema {SCHEMA}")
        fields = {f.name for f in dataclasses.fields(cls)} - {"evidence"}
        kw = {k: v for k, v in data.items() if k in fields}
        kw["verdict"] = Verdict(data["verdict"])
        kw["threads"] = tuple(ThreadInfo(**t) for t in data["threads"])
        kw["pipes"] = tuple(PipeInfo(**p) for p in data["pipes"])
        kw["full_pipe"] = PipeInfo(**data["full_pipe"]) if data.get("full_pipe") else None
        for key in ("cycle", "behind", "stuck_pids", "missing"):
            kw[key] = tuple(data[key])
        kw["cycle_threads"] = tuple((int(p), int(t)) for p, t in data.get("cycle_threads", ()))
        return cls(**kw)

    def text(self, *, stacks: bool = False) -> str:
        """The report a user reads, every line within 100 columns."""

        def para(prefix: str, body: str) -> list[str]:
            return textwrap.wrap(body, WIDTH, initial_indent=prefix, subsequent_indent=" " * len(prefix))

        lines = para("", f"{self.verdict.value.upper()}: {self.summary}")
        if self.cause:
            lines += para("Cause: ", self.cause)
        if self.cycle:
            lines.append("The wait-for cycle:")
            for i, step in enumerate(self.cycle, 1):
                lines += para(f"  {i}. ", step)
        if self.behind:
            lines.append("Stuck behind it:")
            for step in self.behind:
                lines += para("  - ", step)
        if self.breaker:
            lines += para("Not proven: ", self.breaker)
        if self.fix:
            lines += para("Fix: ", self.fix)
        for problem in self.missing:
            lines += para("No stacks: ", problem)
        if stacks and self.stacks:
            for pid, text in sorted(self.stacks.items(), key=lambda kv: int(kv[0])):
                lines.append(f"py-spy stacks of process {pid}:")
                for ln in text.splitlines():
                    # A frame's file path can be long: wrap it under its own indentation.
                    indent = " " * (2 + len(ln) - len(ln.lstrip()))
                    lines += textwrap.wrap("  " + ln, WIDTH, subsequent_indent=indent + "    ") or [""]
        return "\n".join(lines)
