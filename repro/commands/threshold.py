"""Measure the largest payload that does not stall, byte-exact, next to the pipe model's prediction.

Each probe is a real run of the program, stopped as soon as a stall is proven. The search
probes the prediction and the byte after it first (two runs when the model is right), and
bisects otherwise. With --message-size it measures instead how many puts of that size stall.
Exit status 1 when measurement and prediction differ: a CI guard for the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from joinstall import defaults, options, resultsfile
from joinstall.errors import ExitCode, UsageError
from joinstall.measure import threshold as th
from joinstall.measure.measurements import MultiputResult, Probe, ThresholdResult
from joinstall.records import Mode

NAME = "threshold"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--python", default=sys.executable, help="interpreter that runs the program")
    p.add_argument(
        "--start-method", default=None, help="fork, spawn or forkserver (default: the interpreter's)"
    )
    options.add_pipe_size(p)
    options.add_puts(p)
    p.add_argument("--message-size", type=options.payload, default=None,
                   help="instead: the number of puts of this many bytes each that stalls")  # fmt: skip
    p.add_argument("--lo", type=options.payload, default=0, help="search from this payload size (default 0)")
    p.add_argument(
        "--hi", type=options.payload, default=None, help="search up to this size (default: the capacity)"
    )
    p.add_argument(
        "--no-predict", action="store_true", help="plain bisection, without probing the prediction first"
    )
    p.add_argument(
        "--timeout-based",
        action="store_true",
        help="a probe stalls when the program's join(--timeout) runs out, not when /proc proves it",
    )
    options.add_timeout(
        p, None, f"the program's join timeout T, seconds (default {defaults.TIMEOUT:g};"
        f" timeout-based: {defaults.FAITHFUL_TIMEOUT:g})",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result record as JSON")
    p.add_argument(
        "-o", "--output", type=Path, default=None, help="also append the record to this results file"
    )


def _progress(probe: Probe) -> None:
    what = f"{probe.size:,} bytes" if probe.puts == 1 else f"{probe.puts} puts, {probe.size:,} bytes"
    print(f"  probe {what}: {'stalled' if probe.stalled else 'ok'} ({probe.seconds:.2f} s)", flush=True)


def _status(agree: bool | None) -> str:
    # A search always measures its count, so None (cannot tell) only comes from a sweep's map.
    return "agree      " if agree else "DIFFER     "


def _multiput_text(mp: MultiputResult) -> str:
    return (
        f"Python {mp.python_version} ({mp.start_method}), pipe {mp.capacity:,} bytes,"
        f" messages of {mp.message_size:,} bytes\n"
        f"  measured   stalls at put {mp.measured_puts}\n"
        f"  predicted  stalls at put {mp.predicted_puts}\n"
        f"  {_status(mp.agree)}{mp.probes} probes in {mp.seconds:.2f} s ({mp.search})"
    )


def _threshold_text(res: ThresholdResult) -> str:
    return (
        f"Python {res.python_version} ({res.start_method}), pipe {res.capacity:,} bytes,"
        f" {res.puts} put{'s' if res.puts != 1 else ''}\n"
        f"  measured   {res.measured:,} bytes (the largest payload that does not stall)\n"
        f"  predicted  {res.predicted:,} bytes (pipe model)\n"
        f"  {_status(res.agree)}{res.probes} probes in {res.seconds:.2f} s ({res.search})"
    )


def plan(args: argparse.Namespace) -> th.ThresholdSearch | th.MultiputSearch:
    """Check every option, run nothing."""
    mode = Mode.FAITHFUL if args.timeout_based else Mode.FAST
    if args.message_size is None:
        if args.hi is not None and args.hi <= args.lo:
            raise UsageError(
                f"--lo {args.lo} .. --hi {args.hi} is not a range of payload sizes; pass a --lo below --hi"
            )
        return th.plan_threshold(
            args.python, args.start_method, args.pipe_size, args.puts, lo=args.lo, hi=args.hi,
            mode=mode, timeout=args.timeout,
        )  # fmt: skip
    if args.lo or args.hi is not None or args.puts != 1:
        raise UsageError("--message-size searches a number of puts; it takes no --lo, --hi or --puts")
    return th.plan_multiput(
        args.python, args.start_method, args.message_size, args.pipe_size, mode=mode, timeout=args.timeout
    )


def run(args: argparse.Namespace) -> int:
    search = plan(args)
    # Opened before the first probe: a bad -o is one line and exit 2, not runs thrown away.
    with resultsfile.optional(args.output, {"command": NAME}) as out:
        result = search.run(not args.no_predict, None if args.json else _progress)
        record = result.to_record()
        if out is not None:
            out.append(record)
    if args.json:
        print(json.dumps(record, indent=2))
    elif isinstance(result, MultiputResult):
        print(_multiput_text(result))
    else:
        print(_threshold_text(result))
    return int(ExitCode.OK if result.agree else ExitCode.MISMATCH)
