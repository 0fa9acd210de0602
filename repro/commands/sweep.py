"""Run many sizes and variants in parallel into a resumable JSON Lines results file.

By default: buggy and fixed over 48 sizes on a log grid from 1 KiB to 1 MiB plus 16 sizes
packed around the predicted threshold, stopped at proof (fast mode). Run it again with the same
options to resume: runs already in the file are skipped. --puts K,K2,... draws the multi-put
map instead: for each message size on the grid, K messages of that size for each listed K;
then the put count at which the child starts to stall is searched exactly between them and
written next to the pipe model's prediction.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from joinstall import defaults, interpreters, options, variants
from joinstall.errors import UsageError
from joinstall.measure import grid, sweep
from joinstall.records import Mode

NAME = "sweep"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("results/sweep.jsonl"),
        help="results file (default results/sweep.jsonl)",
    )
    p.add_argument("--lo", type=options.sized(defaults.GRID_LO_BOUND), default=defaults.GRID_LO,
                   help=f"smallest size (default {options.human(defaults.GRID_LO)})")  # fmt: skip
    p.add_argument("--hi", type=options.payload, default=defaults.GRID_HI,
                   help=f"largest size (default {options.human(defaults.GRID_HI)})")  # fmt: skip
    p.add_argument("--points", type=options.count(defaults.POINTS_BOUND), default=defaults.GRID_POINTS,
                   help=f"log-grid points, dense ones on top (default {defaults.GRID_POINTS})")  # fmt: skip
    p.add_argument("--dense", type=options.count(defaults.DENSE_BOUND), default=defaults.DENSE_POINTS,
                   help=f"extra points around the predicted threshold (default {defaults.DENSE_POINTS})")  # fmt: skip
    p.add_argument(
        "--variants", default=None, help="comma-separated names, or all (default buggy,fixed; map: buggy)"
    )
    options.add_jobs(p, "runs")
    p.add_argument(
        "--faithful", action="store_true",
        help=f"let each join(T) run out (default T {defaults.FAITHFUL_TIMEOUT:g} s)",
    )  # fmt: skip
    p.add_argument("--fresh", action="store_true", help="overwrite the results file instead of resuming it")
    p.add_argument("--puts", type=_counts, default=(), help="multi-put map: put counts, e.g. 1,2,4 or 1-24")
    p.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it is off anyway when not a TTY)"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    # No default T: it depends on --faithful (see config_from).
    options.add_program_options(p, variant=False, timeout=None)


def _counts(text: str) -> tuple[int, ...]:
    """``1,2,4`` or ``1-24`` (or both mixed): positive put counts, sorted and unique."""
    out: set[int] = set()
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            out.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of put counts; write e.g. 1,2,4 or 1-24"
        ) from None
    bound = defaults.PUTS_BOUND
    if not out or not (bound.ok(min(out)) and bound.ok(max(out))):
        raise argparse.ArgumentTypeError(f"every count {bound.rule()}, not {text!r}")
    return tuple(sorted(out))


def config_from(args: argparse.Namespace) -> sweep.SweepConfig:
    if args.lo >= args.hi:
        raise UsageError(
            f"the size range {args.lo:,}..{args.hi:,} is empty or inverted; pass a --lo below --hi"
        )
    chosen = args.variants or ("buggy" if args.puts else "buggy,fixed")
    names = list(variants.REGISTRY) if chosen == "all" else [n.strip() for n in chosen.split(",")]
    for name in names:
        variants.get(name)
    # Asked first, so that a bad --python is one clear line before the model queries it.
    interpreters.probe(args.python)
    # The map has no single threshold to centre on, so it uses the plain log grid.
    centres = None if args.puts else grid.centres(args.python, args.pipe_size, names)
    sizes = grid.log_grid(args.lo, args.hi, args.points, centres, dense_points=args.dense)
    mode = Mode.FAITHFUL if args.faithful else Mode.FAST
    timeout = args.timeout if args.timeout is not None else defaults.join_timeout(args.faithful)
    return sweep.SweepConfig(
        sizes=tuple(sizes), variants=tuple(dict.fromkeys(names)), python=args.python,
        start_method=args.start_method, shell=args.shell, pipe_size=args.pipe_size, puts=args.puts,
        timeout=timeout, mode=mode, spy=args.spy or args.spy_native or args.spy_locals,
        spy_native=args.spy_native, spy_locals=args.spy_locals, jobs=args.jobs,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    summary = sweep.run_sweep(config, args.out, resume=not args.fresh, progress=not args.no_progress)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return 0
    for line in summary.lines():
        print(line)
    return 0
