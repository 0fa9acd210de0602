"""What a watched test's report says: the failure's message and the ``joinstall`` section.

The words of a timeout are shared with ``joinstall watch --timeout`` (``not_proven``): a timeout
that fired while no hang was proven says so plainly, never "not a hang", and shows what each
thread of each process waited on, what could still have ended the wait, and the stacks.
"""

from __future__ import annotations

import dataclasses
import os
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from joinstall.engine import Diagnosis
    from joinstall.plugin.client import Record

TITLE = "joinstall"
#: Frames of the test runner below the test function: the same in every report, so left out.
RUNNER_FRAMES = ("_pytest/", "pluggy/", "pytest/__main__.py", "<frozen runpy>", "xdist/", "execnet/")
#: Frames of the timeout's handler above the test's own (innermost): joinstall's, pytest-timeout's.
HANDLER_FRAMES = ("plugin/client.py", "plugin/hooks.py", "pytest_timeout.py")
#: The engine's words for a wait that live threads can end: under a timeout, "not proven" says it.
LIVE = ": live, not hung"
NO_PROC = (
    "hangs are not proven on this platform (no Linux /proc to observe processes through);"
    " at a timeout joinstall still takes py-spy's stacks of every process of the test (where"
    " py-spy may attach) and kills the processes the test started"
)


def message(proven: Diagnosis) -> str:
    """The failure's one-paragraph message."""
    has = "the wait-for cycle, the fix and the stacks" if proven.stacks else "the wait-for cycle and the fix"
    return (
        f"joinstall: {proven.verdict.value}: {proven.summary}\n(the {TITLE} section of this report has {has})"
    )


def headline(record: Record) -> str:
    """One line for a timeout's failure message (what CI dashboards show of a failure)."""
    view = record.at_timeout
    if view is None:
        return "joinstall: not proven"
    return "joinstall: not proven: " + " ".join((_unsaid(view.breaker) or _reason(view)).split())


def section(record: Record, when: str) -> tuple[str, str] | None:
    """The (title, text) to add to the report of phase ``when``, or None when there is nothing to say."""
    if record.proven is not None:
        title = f"{TITLE}: hang proven in {when}"
        lines = [_text(record.proven, record)]
    elif record.timeout:
        title = f"{TITLE}: not proven when {record.timeout}"
        lines = [
            not_proven(
                record.at_timeout,
                stacks=record.settings.stacks,
                more_stacks=record.stacks,
                missing=record.missing,
                killed=record.cleaned,
                observed=record.observed,
                runner=os.getpid(),
                bystanders=record.ignore,
            )
        ]
    else:
        return None
    if record.killed:
        lines.append(f"Stopped (SIGKILL): process(es) {', '.join(map(str, record.killed))}.")
    if record.proven is not None and record.cleaned:
        lines.append(killed_line(record.cleaned))
    if record.unblocked:
        fds = ", ".join(map(str, record.unblocked))
        lines.append(f"Freed this process's stuck thread(s) by closing pipe fd(s) {fds} (now /dev/null).")
    if record.stuck:
        names = ", ".join(repr(t.name) for t in record.stuck)
        lines.append(
            f"Still stuck in this process: thread(s) {names}; pytest will end with os._exit after"
            " its summary, because they would block interpreter exit."
        )
    if record.saved:
        lines.append(record.saved)
    if record.failure:
        lines.append(record.failure)
    # The diagnosis keeps within the engine's width; so do these lines. A file's path stays
    # whole, to be copied: no break at its hyphens.
    width = _width()
    rest = (textwrap.fill(line, width, break_on_hyphens=False, break_long_words=False) for line in lines[1:])
    return title, "\n".join([lines[0], *rest])


def not_proven(
    view: Diagnosis | None,
    *,
    stacks: bool,
    more_stacks: Mapping[str, str] | None = None,
    missing: Sequence[str] = (),
    killed: Sequence[str] | None = None,
    observed: bool = True,
    runner: int = 0,
    bystanders: Iterable[int] = (),
    of: str = "the test",
) -> str:
    """A timeout that fired while no hang was proven: what each thread waited on (``view``, the
    latest sample before the timeout), what could still have ended the wait, py-spy's stacks of
    every process, and who was killed. ``runner``: the process that ran the test (its runner
    frames and ``bystanders`` threads are left out); ``observed``: there was a /proc to look
    through; ``of``: whose processes these are ("the test", "the command")."""
    lines: list[str] = []
    ignore = frozenset(bystanders)
    if not observed:
        lines += _para("Not proven: ", "without a Linux /proc, no wait can be observed here.")
    elif view is None:
        lines += _para(
            "Not proven: ",
            f"joinstall had no sample of {of}'s processes from before the timeout (the first is"
            f" taken one interval after {of} starts).",
        )
    else:
        lines += _para("Not proven: ", _reason(view, of) + " " + _listing(view))
        rows = [t for t in view.threads if not (t.pid == runner and t.tid in ignore)]
        process = None
        for t in rows:
            if t.process != process:
                process = t.process
                lines.append(f"  {process}{' (pytest)' if t.pid == runner else ''}:")
            role = f" ({t.role})" if t.role else ""
            stuck = " [stuck]" if t.stuck else ""
            lines += _para(f"    {t.name}: ", f"{t.what}{role}{stuck}")
        if view.breaker:
            lines += _para("What could still end the wait: ", _unsaid(view.breaker))
    found = dict(view.stacks) if view is not None and stacks else {}
    found.update(more_stacks or {})
    for problem in [*(view.missing if view is not None and stacks else ()), *missing]:
        lines += _para("No stacks: ", problem)
    for pid, text in sorted(found.items(), key=lambda kv: int(kv[0])):
        if runner:  # forked children carry the runner's frames too, below the test's
            text = trim(text, ignore if int(pid) == runner else frozenset())
            if not text:
                continue
        lines.append(f"py-spy stacks of process {pid}:")
        for ln in text.splitlines():
            # A frame's file path can be long: wrap it under its own indentation.
            indent = " " * (2 + len(ln) - len(ln.lstrip()))
            lines += textwrap.wrap("  " + ln, _width(), subsequent_indent=indent + "    ") or [""]
    if killed is not None:
        lines += _para("", killed_line(killed, of))
    return "\n".join(lines)


def killed_line(killed: Sequence[str], of: str = "the test") -> str:
    if not killed:
        return f"No process {of} started was left to kill."
    return f"Killed (SIGKILL) the processes {of} started: {', '.join(killed)}."


def _reason(view: Diagnosis, of: str = "the test") -> str:
    if view.proven:
        return f"{view.verdict.value}: {view.summary}."
    if view.verdict.value == "running":
        return f"no thread of {of} waited on another."
    return (
        f"{of}'s threads waited, but no closed wait-for cycle was seen: something outside the"
        " cycle could still end the wait."
    )


def _listing(view: Diagnosis) -> str:
    return "What each thread was doing:" if view.verdict.value == "running" else "What each thread waited on:"


def _unsaid(breaker: str) -> str:
    """The engine's breaker without its "live, not hung": a timeout fired, and nothing was proven."""
    return breaker[: -len(LIVE)] if breaker.endswith(LIVE) else breaker


def _para(prefix: str, body: str) -> list[str]:
    return textwrap.wrap(
        body,
        _width(),
        initial_indent=prefix,
        subsequent_indent=" " * max(len(prefix), 4),
        break_on_hyphens=False,
    )


def _width() -> int:
    from joinstall.engine.diagnosis import WIDTH  # loaded already where there is a diagnosis

    return WIDTH


def _text(found: Diagnosis, record: Record) -> str:
    if record.settings.stacks and found.stacks:
        # Forked children carry the runner's frames too, below the test function that forked them.
        mine = str(os.getpid())
        stacks = {
            pid: trim(text, record.ignore if pid == mine else frozenset())
            for pid, text in found.stacks.items()
        }
        found = dataclasses.replace(found, stacks=stacks)
    return found.text(stacks=record.settings.stacks)


def trim(stacks: str, bystanders: frozenset[int]) -> str:
    """This process's stacks without the runner's threads and without the runner's frames.

    py-spy's text is a header line per thread (``NAME (tid N, ...)``) followed by its indented
    frames, innermost first: below the test's own frames come pytest's, which no reader needs,
    and above them, at a timeout, the frames of the handler that asked for the stacks.
    Threads that took stacks in this process (their frames pass through ``capture_stacks``) go too.
    """
    blocks: list[list[str]] = []
    for line in stacks.splitlines():
        if line and not line[0].isspace():
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    out: list[str] = []
    for header, *frames in blocks:
        tid = header.partition("(tid ")[2].partition(",")[0].partition(")")[0]
        if (tid.isdigit() and int(tid) in bystanders) or any("capture_stacks" in f for f in frames):
            continue
        kept: list[str] = []
        for frame in frames:
            if not kept and any(marker in frame for marker in HANDLER_FRAMES):
                continue
            if any(marker in frame for marker in RUNNER_FRAMES):
                break
            kept.append(frame)
        if kept or not frames:  # a thread now only in pytest's code (after its test) says nothing
            out += [header, *kept]
    return "\n".join(out)
