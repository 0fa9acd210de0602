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

from repro import options, resultsfile
from repro import threshold as th
from repro.errors import ExitCode, UsageError
from repro.records import Mode

NAME = "threshold"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--python", default=sys.executable, help="interpreter that runs the program")
    p.add_argument(
        "--start-method", default=None, help="fork, spawn or forkserver (default: the interpreter's)"
    )
    p.add_argument(
        "--pipe-size",
        type=options.size,
        default=0,
        help="queue pipe capacity, 4KiB..1MiB (default: the kernel's)",
    )
    p.add_argument("--puts", type=int, default=1, help="send the payload as this many messages (default 1)")
    p.add_argument("--message-size", type=options.size, default=None,
                   help="instead: the number of puts of this many bytes each that stalls")  # fmt: skip
    p.add_argument("--lo", type=options.size, default=0, help="search from this payload size (default 0)")
    p.add_argument(
        "--hi", type=options.size, default=None, help="search up to this size (default: the capacity)"
    )
    p.add_argument(
        "--no-predict", action="store_true", help="plain bisection, without probing the prediction first"
    )
    p.add_argument(
        "--timeout-based",
        action="store_true",
        help="a probe stalls when the program's join(--timeout) runs out, not when /proc proves it",
    )
    p.add_argument(
        "--timeout", type=float, default=None, help="the program's join timeout (timeout-based: 2 s)"
    )
    p.add_argument("--json", action="store_true", help="print the result record as JSON")
    p.add_argument(
        "-o", "--output", type=Path, default=None, help="also append the record to this results file"
    )


def _progress(probe: th.Probe) -> None:
    what = f"{probe.size:,} bytes" if probe.puts == 1 else f"{probe.puts} puts, {probe.size:,} bytes"
    print(f"  probe {what}: {'stalled' if probe.stalled else 'ok'} ({probe.seconds:.2f} s)", flush=True)


def _status(agree: bool) -> str:
    return "agree      " if agree else "DIFFER     "


def run(args: argparse.Namespace) -> int:
    if args.puts < 1:
        raise UsageError("--puts must be 1 or more")
    if args.message_size is not None and (args.lo or args.hi is not None or args.puts != 1):
        raise UsageError("--message-size searches a number of puts; it takes no --lo, --hi or --puts")
    mode = Mode.FAITHFUL if args.timeout_based else Mode.FAST
    predict = not args.no_predict
    progress = None if args.json else _progress
    if args.message_size is not None:
        mp = th.multiput(
            args.python, args.start_method, args.message_size, args.pipe_size,
            use_prediction=predict, mode=mode, timeout=args.timeout, on_probe=progress,
        )  # fmt: skip
        record = mp.to_record()
        agree = mp.agree
        if not args.json:
            print(
                f"Python {mp.python_version} ({mp.start_method}), pipe {mp.capacity:,} bytes,"
                f" messages of {mp.message_size:,} bytes\n"
                f"  measured   stalls at put {mp.measured_puts}\n"
                f"  predicted  stalls at put {mp.predicted_puts}\n"
                f"  {_status(agree)}{mp.probes} probes in {mp.seconds:.2f} s ({mp.search})"
            )
    else:
        res = th.threshold(
            args.python, args.start_method, args.pipe_size, args.puts, lo=args.lo, hi=args.hi,
            use_prediction=predict, mode=mode, timeout=args.timeout, on_probe=progress,
        )  # fmt: skip
        record = res.to_record()
        agree = res.agree
        if not args.json:
            print(
                f"Python {res.python_version} ({res.start_method}), pipe {res.capacity:,} bytes,"
                f" {res.puts} put{'s' if res.puts != 1 else ''}\n"
                f"  measured   {res.measured:,} bytes (the largest payload that does not stall)\n"
                f"  predicted  {res.predicted:,} bytes (pipe model)\n"
                f"  {_status(agree)}{res.probes} probes in {res.seconds:.2f} s ({res.search})"
            )
    if args.json:
        print(json.dumps(record, indent=2))
    if args.output is not None:
        with resultsfile.Writer(args.output, {"command": NAME}) as out:
            out.append(record)
    return int(ExitCode.OK if agree else ExitCode.MISMATCH)
