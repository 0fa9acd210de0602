"""Run the original program once and say, with evidence, whether join stalled.

Prints the program's own PARENT:/CHILD: lines, then one verdict line. In the default fast
mode a stall is proven from /proc and the run is stopped at once; --faithful lets the
program's join(T) run out and measures it.
"""

from __future__ import annotations

import argparse
import json
import textwrap

from joinstall import defaults, harness, options
from joinstall.errors import ExitCode
from joinstall.observe import procfs
from joinstall.observe.verdict import Verdict
from joinstall.records import Mode

NAME = "run"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=options.size, default=defaults.SIZE, help="payload bytes (default 1MiB)")
    options.add_puts(p)
    p.add_argument(
        "--faithful", action="store_true", help="let join(T) time out instead of stopping at proof"
    )
    p.add_argument("--json", action="store_true", help="print the RunResult record as JSON")
    options.add_program_options(p)


def run(args: argparse.Namespace) -> int:
    spec = options.spec_from(args)
    if spec.mode is Mode.FAST and not procfs.available():
        print(
            "joinstall run: hangs are not proven on this platform (no Linux /proc to observe processes"
            " through); falling back to timeout-based detection (--faithful): join(T) is let run out"
        )
        spec = options.spec_from(args, mode=Mode.FAITHFUL)
    listener = None if args.json else print
    result = harness.run(spec, listener=listener)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        # One paragraph within 100 columns, continued under its first word.
        print(textwrap.fill(f"VERDICT: {result.explanation}", 100, subsequent_indent=" " * 9))
        if result.proof is not None and spec.spy:
            print(result.proof.text())
    return int(ExitCode.PROGRAM_FAILED if result.verdict is Verdict.ERROR else ExitCode.OK)
