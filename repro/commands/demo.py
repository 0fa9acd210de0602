"""Reproduce the stall end to end: sweeps, thresholds, the multi-put map, py-spy, the report.

Results, figures and report.md go to --out (results/ by default, which git ignores). An
earlier demo in the same folder is overwritten.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from joinstall import demo
from joinstall.errors import ExitCode, UsageError

NAME = "demo"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("results"), help="folder for results and the report")
    p.add_argument("--quick", action="store_true", help="the fewest points that still show every effect")
    p.add_argument("-j", "--jobs", type=int, default=2, help="runs in parallel (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _check_out(out: Path) -> None:
    """Refuse an unusable --out before anything runs."""
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(f"--out {out}: {existing} is a file, not a folder; choose another --out")
    if existing is not None and not os.access(existing, os.W_OK):
        raise UsageError(f"--out {out}: {existing} is not writable; choose another --out")


def run(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise UsageError("-j must be 1 or more")
    _check_out(args.out)
    done = demo.run(
        args.out, demo.QUICK if args.quick else demo.FULL, args.jobs, progress=not args.no_progress
    )
    print(f"\ndemo finished in {done.seconds:.1f} s")
    print(f"  report:  {done.report}")
    for name, path in sorted(done.figures.items()):
        print(f"  figure:  {path}  ({name}; SVG beside it)")
    for path in done.files:
        print(f"  results: {path}")
    for line in done.disagreements:
        print(f"  DISAGREES WITH THE MODEL: {line}")
    return int(ExitCode.MISMATCH) if done.disagreements else 0
