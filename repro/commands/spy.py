"""Diagnose a process tree joinstall did not start: is it hung, and why.

Samples the tree under --pid from /proc (and every process anywhere that holds an end of its
pipes) until a hang is proven or --budget seconds pass, then dumps every Python process with
py-spy and prints the verdict, the wait-for cycle in words and the fix. Verdicts: stalled (a
proven cycle through a full pipe), deadlocked (a proven cycle without one), blocked (threads
wait, but something live can still end it), running. Exit 0 when a hang is proven, 1 when
none is, 2 for bad input. Without py-spy the verdict comes from /proc alone, and says so.
--save FILE also writes the diagnosis with its evidence, for `joinstall explain FILE` later,
on any machine, after the tree is gone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from joinstall.engine import api, saved
from joinstall.engine.diagnosis import Diagnosis
from joinstall.errors import ExitCode
from joinstall.spy import pyspy

NAME = "spy"
#: An hour: any bound beyond it is a typo (and inf would sample for ever).
MAX_SECONDS = 3600.0


def _positive(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 < seconds <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{value!r} must be more than 0 and at most {MAX_SECONDS:g} seconds")
    return seconds


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pid", type=int, required=True, help="PID of the root of the tree (the parent)")
    p.add_argument("--json", action="store_true", help="print the diagnosis as one JSON document")
    p.add_argument("--stacks", action="store_true", help="also print py-spy's stack of every thread")
    p.add_argument(
        "--save", type=Path, metavar="FILE",
        help="also save the diagnosis with its evidence to FILE, for `joinstall explain FILE`",
    )  # fmt: skip
    p.add_argument("--no-stacks", action="store_true", help="do not run py-spy at all (/proc only)")
    p.add_argument(
        "--py-spy",
        dest="pyspy",
        default=None,
        help=f"py-spy binary (default: ${pyspy.PYSPY_ENV}, then next to this Python, then PATH)",
    )
    p.add_argument(
        "--spy-timeout",
        type=_positive,
        default=pyspy.DUMP_TIMEOUT,
        help="kill a py-spy dump after this many seconds (default %(default)s)",
    )
    p.add_argument(
        "--budget",
        type=_positive,
        default=api.BUDGET,
        help="sample this long before concluding that no hang is proven (default %(default)s s)",
    )
    p.add_argument("--native", action="store_true", help="include native (C) frames in the py-spy dumps")
    p.add_argument(
        "--locals", dest="locals_", action="store_true", help="include local variables in the py-spy dumps"
    )


def run(args: argparse.Namespace) -> int:
    if args.save is not None:
        saved.check_target(args.save, option="--save")
    result = api.diagnose(
        args.pid,
        budget=args.budget,
        stacks=not args.no_stacks,
        pyspy_binary=args.pyspy,
        spy_timeout=args.spy_timeout,
        native=args.native,
        locals_=args.locals_,
    )
    show(result, as_json=args.json, stacks=args.stacks)
    if args.save is not None:
        saved.write(args.save, result)
        print(
            f"joinstall spy: saved to {args.save}; explain it with `joinstall explain {args.save}`",
            file=sys.stderr,
        )
    return int(ExitCode.OK if result.proven else ExitCode.NO_HANG)


def show(diagnosis: Diagnosis, *, as_json: bool, stacks: bool) -> None:
    """Print a diagnosis as ``spy`` does (``explain`` prints a saved one the same way)."""
    if as_json:
        print(json.dumps(diagnosis.to_dict(), indent=2))
    else:
        print(diagnosis.text(stacks=stacks))
        if diagnosis.stacks and not stacks:
            print("Stacks: add --stacks to print py-spy's stack of every thread")
