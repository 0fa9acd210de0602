"""Write a markdown report with figures from one or more results files (it runs nothing).

The report shows when join returned against the payload size, a table of variants by
outcome (expected and measured; a false fix that ended ok is "ok by luck", never fixed), the
measured thresholds next to their predictions, and one wait-for cycle with its py-spy stacks
when the results hold one. Figures are PNG and SVG.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="results files (.jsonl)")
    p.add_argument(
        "-o", "--output", type=Path, default=Path("results/report"), metavar="DIR",
        help="folder for report.md and its figures (default: results/report)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args: argparse.Namespace) -> int:
    # Imported here so that commands which run programs never load matplotlib.
    from joinstall.analysis import report, results

    loaded = results.load(args.results)
    written = report.write(loaded, args.output)
    if args.json:
        figures = {name: str(path) for name, path in sorted(written.figures.items())}
        print(
            json.dumps(
                {"report": str(written.path), "figures": figures, "notes": list(written.notes)}, indent=2
            )
        )
        return 0
    for note in written.notes:
        print(f"joinstall report: note: {note}")
    names = ", ".join(p.name for p in written.figures.values()) or "no figures"
    print(f"wrote {written.path} ({names}, each also as SVG)")
    return 0
