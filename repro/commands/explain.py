"""Explain a saved diagnosis again, anywhere: no /proc, no py-spy, no running process needed.

FILE is a diagnosis saved with its evidence (`joinstall spy --save FILE`): the samples the
verdict rests on, with py-spy's thread names and stacks. The verdict is computed again from
those samples and printed in the same words as `spy` (--json: the same document); when this
joinstall reads the evidence otherwise than the one that saved it, a first line says so.
--figure PATH draws the wait-for cycle (or, with no hang proven, what the waits depend on)
as svg or png, by PATH's suffix. Exit 0 when the saved evidence proves a hang, 1 when it does
not, 2 for bad input (a file that is not a saved diagnosis, or one of a newer joinstall).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import joinstall
from joinstall import files
from joinstall.commands import spy
from joinstall.engine import saved
from joinstall.engine.diagnosis import Diagnosis
from joinstall.errors import ExitCode, UsageError

NAME = "explain"
FORMATS = ("svg", "png")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, metavar="FILE", help="a diagnosis saved by `joinstall spy --save FILE`")
    p.add_argument("--json", action="store_true", help="print the diagnosis as one JSON document")
    p.add_argument("--stacks", action="store_true", help="also print the saved py-spy stack of every thread")
    p.add_argument(
        "--figure", type=Path, metavar="PATH", help="draw the wait-for graph to PATH (.svg or .png)"
    )


def is_figure(path: Path) -> bool:
    """An svg or png file (of anyone's): what ``--figure`` may replace."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(b"\x89PNG\r\n\x1a\n") or b"<svg" in head


def check_figure(path: Path) -> str:
    """The format ``path`` asks for; UsageError, before any work, for one that cannot be drawn."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"--figure {path}: the suffix names the format; end it in .svg or .png")
    files.check_target(
        path,
        ours=is_figure,
        what="svg or png figure",
        option="--figure",
        example="cycle.svg",
        error=UsageError,
    )
    return fmt


def run(args: argparse.Namespace) -> int:
    fmt = check_figure(args.figure) if args.figure is not None else None
    data = saved.document(args.file)
    was = saved.load(data, source=str(args.file))
    assert was.evidence is not None  # load() always attaches the evidence
    now = was.evidence.describe(stacks=was.stacks, missing=was.missing)
    verdict, by = saved.said(data)
    if now.verdict.value != verdict:
        # Said first: the rest is this joinstall's reading, not the one that was saved.
        note = (
            f"Note: joinstall {joinstall.__version__} reads this evidence as {now.verdict.value}; joinstall {by},"
            f" which saved it, said {verdict}."
        )
        print(note, file=sys.stderr if args.json else sys.stdout)
    spy.show(now, as_json=args.json, stacks=args.stacks)
    if fmt is not None:
        _figure(now, args.figure, fmt)
    return int(ExitCode.OK if now.proven else ExitCode.NO_HANG)


def _figure(diagnosis: Diagnosis, path: Path, fmt: str) -> None:
    # Imported here: matplotlib costs more than the rest of the command.
    from joinstall.analysis.draw import waitgraph as draw
    from joinstall.analysis.series import waitgraph

    try:
        files.write_atomic(path, draw.render(waitgraph.compute(diagnosis), fmt))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}; choose another --figure") from None
    print(f"joinstall explain: figure written to {path}", file=sys.stderr)
