"""The command line's edge: option types that check their bounds, shared options, and the RunSpec.

Defaults and bounds come from ``joinstall.defaults``; a value out of range is refused here, while
argparse parses it, so the message names the flag (``argument --puts: must be ...``). The harness
and the measurements check the same bounds again for callers from Python, naming the value.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable

from joinstall import defaults
from joinstall.defaults import Bound
from joinstall.observe import pipes
from joinstall.records import Mode, RunSpec

UNITS = {
    "": 1, "b": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
    "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
}  # fmt: skip


#: ASCII digits, then a unit: str.isdigit() and int() would also take "١٢٣" or "²".
_SIZE = re.compile(r"([0-9]+)([A-Za-z]*)")


def size(text: str) -> int:
    """A byte count: ``65515``, ``64KiB``, ``1M``. Anything else is a clear error."""
    match = _SIZE.fullmatch(text)
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a byte count; write e.g. 65515, 64KiB or 1MiB")
    return int(match.group(1)) * UNITS[match.group(2).lower()]


def _within(bound: Bound, value: float, text: str) -> None:
    if not bound.ok(value):
        raise argparse.ArgumentTypeError(f"{bound.rule()}, not {text}")


def count(bound: Bound) -> Callable[[str], int]:
    """An argparse type: a whole number within ``bound``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; {bound.rule()}") from None
        _within(bound, value, text)
        return value

    parse.__name__ = bound.name
    return parse


def seconds(text: str) -> float:
    """A join timeout T in seconds: finite, above 0, at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds; {defaults.TIMEOUT_BOUND.rule()}"
        ) from None
    _within(defaults.TIMEOUT_BOUND, value, text)
    return value


def sized(bound: Bound) -> Callable[[str], int]:
    """An argparse type: a byte count (``64KiB``) within ``bound``."""

    def parse(text: str) -> int:
        n = size(text)
        _within(bound, n, text)
        return n

    parse.__name__ = bound.name
    return parse


#: A payload size the target program accepts.
payload = sized(defaults.SIZE_BOUND)


def human(n: int) -> str:
    """4096 -> 4KiB, 1048576 -> 1MiB: how a size is written back to the user."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return str(n)


def pipe_size(text: str) -> int:
    """A pipe capacity the kernel keeps as given: a power-of-two number of pages (0: default).

    Linux rounds any other request up, so the run would measure a pipe the user did not ask for.
    Sizes out of the kernel's range are left to ``pipes.capacity_for``, which asks the kernel.
    """
    n = size(text)
    page = os.sysconf("SC_PAGE_SIZE")
    if n == 0 or not pipes.MIN_SIZE <= n <= pipes.MAX_SIZE:
        return n
    pages = -(-n // page)
    rounded = page << (pages - 1).bit_length()
    if rounded != n:
        top = pipes.max_size() or 1024 * 1024
        accepted = [page << k for k in range(32) if page << k <= top]
        shown = ", ".join(human(a) for a in accepted[:4]) + ", ..., " + human(accepted[-1])
        raise argparse.ArgumentTypeError(
            f"the kernel would round pipe size {n:,} up to {rounded:,} bytes; pass one it keeps:"
            f" {shown} (a power-of-two number of {human(page)} pages)"
        )
    return n


def add_pipe_size(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pipe-size", type=pipe_size, default=0,
        help="F_SETPIPE_SZ the queue's pipe: 4KiB, 8KiB, ... up to /proc/sys/fs/pipe-max-size"
        " (default: the kernel's)",
    )  # fmt: skip


def add_puts(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--puts", type=count(defaults.PUTS_BOUND), default=defaults.PUTS,
        help=f"send the payload as this many messages (default {defaults.PUTS})",
    )  # fmt: skip


def add_jobs(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "-j", "--jobs", type=count(defaults.JOBS_BOUND), default=defaults.JOBS,
        help=f"{what} at a time (default {defaults.JOBS}; each is its own process tree)",
    )  # fmt: skip


def add_timeout(p: argparse.ArgumentParser, default: float | None, help: str) -> None:
    p.add_argument("--timeout", type=seconds, default=default, help=help)


def add_program_options(
    p: argparse.ArgumentParser, *, variant: bool = True, timeout: float | None = defaults.TIMEOUT
) -> None:
    """The options of one run. ``timeout=None``: the command picks T by mode (``defaults.join_timeout``)."""
    if variant:
        p.add_argument("--variant", default="buggy", help="program variant (see `joinstall variants`)")
    add_timeout(
        p, timeout, f"the program's join timeout T, seconds (default {defaults.TIMEOUT:g}"
        + ("" if timeout is not None else f"; with --faithful {defaults.FAITHFUL_TIMEOUT:g}") + ")",
    )  # fmt: skip
    p.add_argument(
        "--start-method", default=None, help="fork, spawn or forkserver (default: the interpreter's)"
    )
    p.add_argument(
        "--shell",
        default=defaults.SHELL,
        help="shell for the payload pipeline (the original used /usr/bin/zsh)",
    )
    p.add_argument("--python", default=sys.executable, help="interpreter that runs the program")
    add_pipe_size(p)
    p.add_argument("--spy", action="store_true", help="attach py-spy to every process of a proven stall")
    p.add_argument("--spy-native", action="store_true", help="with --spy: include native (C) frames")
    p.add_argument(
        "--spy-locals", action="store_true", help="with --spy: include each frame's local variables"
    )


def spec_from(args: argparse.Namespace, **overrides: object) -> RunSpec:
    fields = {
        "variant": getattr(args, "variant", "buggy"),
        "size": getattr(args, "size", defaults.SIZE),
        "timeout": args.timeout,
        "start_method": args.start_method,
        "shell": args.shell,
        "puts": getattr(args, "puts", defaults.PUTS),
        "pipe_size": args.pipe_size,
        "python": args.python,
        "mode": Mode.FAITHFUL if getattr(args, "faithful", False) else Mode.FAST,
        "spy": args.spy or args.spy_native or args.spy_locals,
        "spy_native": args.spy_native,
        "spy_locals": args.spy_locals,
    }
    fields.update(overrides)
    return RunSpec(**fields)
