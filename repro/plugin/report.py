"""What a watched test's report says: the failure's message and the ``joinstall`` section."""

from __future__ import annotations

import dataclasses
import os
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from joinstall.engine import Diagnosis
    from joinstall.plugin.client import Record

TITLE = "joinstall"
#: Frames of the test runner below the test function: the same in every report, so left out.
RUNNER_FRAMES = ("_pytest/", "pluggy/", "pytest/__main__.py", "<frozen runpy>", "xdist/", "execnet/")


def message(proven: Diagnosis) -> str:
    """The failure's one-paragraph message."""
    has = "the wait-for cycle, the fix and the stacks" if proven.stacks else "the wait-for cycle and the fix"
    return (
        f"joinstall: {proven.verdict.value}: {proven.summary}\n(the {TITLE} section of this report has {has})"
    )


def section(record: Record, when: str) -> tuple[str, str] | None:
    """The (title, text) to add to the report of phase ``when``, or None when there is nothing to say."""
    if record.proven is not None:
        found, title = record.proven, f"{TITLE}: hang proven in {when}"
    elif record.at_timeout is not None:
        found, title = record.at_timeout, f"{TITLE}: the process tree when pytest-timeout fired"
    else:
        return None
    lines = [_text(found, record)]
    if record.killed:
        lines.append(f"Stopped (SIGKILL): process(es) {', '.join(map(str, record.killed))}.")
    if record.unblocked:
        fds = ", ".join(map(str, record.unblocked))
        lines.append(f"Freed this process's stuck thread(s) by closing pipe fd(s) {fds} (now /dev/null).")
    if record.stuck:
        names = ", ".join(repr(t.name) for t in record.stuck)
        lines.append(
            f"Still stuck in this process: thread(s) {names}; pytest will end with os._exit after"
            " its summary, because they would block interpreter exit."
        )
    from joinstall.engine.diagnosis import WIDTH  # loaded already: ``found`` is a Diagnosis

    # The diagnosis keeps within WIDTH columns; so do the lines on what was stopped.
    return title, "\n".join([lines[0], *(textwrap.fill(line, WIDTH) for line in lines[1:])])


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
    frames, innermost first: below the test's own frames come pytest's, which no reader needs.
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
        out.append(header)
        for frame in frames:
            if any(marker in frame for marker in RUNNER_FRAMES):
                break
            out.append(frame)
    return "\n".join(out)
