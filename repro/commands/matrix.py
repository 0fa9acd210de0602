"""Measure the threshold for every interpreter found and every start method, next to the model.

Interpreters are found on PATH and through pyenv; those that cannot run the program (too old,
broken) are listed as skipped. Each cell is a byte-exact threshold search of real runs. Exit
status 1 when any cell differs from the pipe model or could not be measured.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from joinstall import options, resultsfile
from joinstall.errors import ExitCode
from joinstall.measure import matrix
from joinstall.measure.measurements import ThresholdResult

NAME = "matrix"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--python",
        action="append",
        default=None,
        help="measure only this interpreter (repeatable; default: every one found)",
    )
    p.add_argument(
        "--start-method", action="append", default=None, help="only this start method (repeatable)"
    )
    options.add_pipe_size(p)
    options.add_puts(p)
    options.add_jobs(p, "cells measured")
    p.add_argument("--json", action="store_true", help="print the matrix as JSON")
    p.add_argument(
        "-o", "--output", type=Path, default=None, help="also append one record per cell to this results file"
    )


def _progress(cell: ThresholdResult | matrix.CellError) -> None:
    if isinstance(cell, matrix.CellError):
        print(f"  Python {cell.python_version} ({cell.start_method}): error: {cell.error}", flush=True)
        return
    mark = "agrees" if cell.agree else f"DIFFERS from the predicted {cell.predicted:,}"
    print(
        f"  Python {cell.python_version} ({cell.start_method}): {cell.measured:,} bytes, {mark}"
        f" ({cell.probes} probes, {cell.seconds:.2f} s)",
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    cells = matrix.plan(
        pythons=args.python,
        pipe_size=args.pipe_size,
        puts=args.puts,
        jobs=args.jobs,
        start_methods=args.start_method,
    )
    # Opened before the first cell: a bad -o is one line and exit 2, not runs thrown away.
    with resultsfile.optional(args.output, {"command": NAME}) as out:
        result = matrix.measure(cells, on_cell=None if args.json else _progress)
        if out is not None:
            for record in result.records():
                out.append(record)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.table())
    return int(ExitCode.OK if result.agree else ExitCode.MISMATCH)
