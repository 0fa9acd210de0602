"""Diagnose a running Python process tree that joinstall did not start: is join() stalled, and why.

Walks the children of --pid, samples them from /proc as `joinstall run` does until a stall is
proven (or says "not stalled" and exits 2), then dumps every Python process with py-spy, labels
each thread, and prints the wait-for cycle and the fix; --stacks adds py-spy's full stacks.
Without py-spy (missing, no ptrace, hung) the verdict and the cycle come from /proc alone, and
the output says what is missing.
"""

from __future__ import annotations

import argparse
import json

from joinstall import harness
from joinstall.spy import pyspy, target, text

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
    p.add_argument("--pid", type=int, required=True, help="PID of the Python parent that calls join()")
    p.add_argument("--json", action="store_true", help="print the whole diagnosis as JSON")
    p.add_argument(
        "--stacks",
        action="store_true",
        help="also print py-spy's full stack of every thread (the JSON always has them, as stacks_text)",
    )
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
        "--window",
        type=_positive,
        default=harness.PROOF_WINDOW,
        help="how long a blocked write must persist to count as proof (default %(default)s s)",
    )
    p.add_argument(
        "--budget",
        type=_positive,
        default=target.SAMPLE_BUDGET,
        help="sample this long before concluding 'not stalled' (default %(default)s s)",
    )
    p.add_argument("--native", action="store_true", help="include native (C) frames in the py-spy dumps")
    p.add_argument(
        "--locals", dest="locals_", action="store_true", help="include local variables in the py-spy dumps"
    )


def run(args: argparse.Namespace) -> int:
    result = target.diagnose(
        args.pid,
        window=args.window,
        budget=max(args.budget, args.window),
        binary=args.pyspy,
        timeout=args.spy_timeout,
        native=args.native,
        locals_=args.locals_,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"VERDICT: {result['explanation']}")
    print(result["text"])
    if args.stacks:
        print(text.stacks(result))
    elif result["stacks_text"]:
        print("STACKS: add --stacks to print py-spy's full stack of every thread")
    return 0
