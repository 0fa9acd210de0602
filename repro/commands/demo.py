"""Reproduce the stall end to end: sweeps, thresholds, the multi-put map, py-spy, the report.

Results, figures and report.md go to --out (results/ by default, which git ignores). An
earlier demo in the same folder is overwritten.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from joinstall import demo, options
from joinstall.errors import ExitCode, UsageError

NAME = "demo"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("results"), help="folder for results and the report")
    p.add_argument("--quick", action="store_true", help="the fewest points that still show every effect")
    options.add_jobs(p, "runs")
    p.add_argument(
        "--no-progress", action="store_true", help="no progress bars (they are drawn only on a terminal)"
    )
    p.add_argument(
        "--json", action="store_true", help="print what was written as JSON (step lines go to stderr)"
    )


def _check_out(out: Path) -> None:
    """Refuse an unusable --out before anything runs."""
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(f"--out {out}: {existing} is a file, not a folder; choose another --out")
    if existing is not None and not os.access(existing, os.W_OK):
        raise UsageError(f"--out {out}: {existing} is not writable; choose another --out")


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    _check_out(args.out)
    plan = demo.QUICK if args.quick else demo.FULL
    say = _stderr if args.json else demo.say_line
    done = demo.run(args.out, plan, args.jobs, say=say, progress=not args.no_progress)
    say("[7/7] report and figures")
    # Imported here: matplotlib loads in about a second, and only the report needs it.
    from joinstall.analysis import report, results

    written = report.write(results.load(done.files), args.out / "report")
    if args.json:
        print(
            json.dumps(
                {
                    "report": str(written.path),
                    "figures": {name: str(path) for name, path in sorted(written.figures.items())},
                    "files": [str(path) for path in done.files],
                    "seconds": round(done.seconds, 3),
                    "disagreements": list(done.disagreements),
                },
                indent=2,
            )
        )
    else:
        print(f"\ndemo finished in {done.seconds:.1f} s")
        print(f"  report:  {written.path}")
        for name, path in sorted(written.figures.items()):
            print(f"  figure:  {path}  ({name}; SVG beside it)")
        for path in done.files:
            print(f"  results: {path}")
        for line in done.disagreements:
            print(f"  DISAGREES WITH THE MODEL: {line}")
    return int(ExitCode.MISMATCH if done.disagreements else ExitCode.OK)
