"""The ``joinstall`` command line: one module per subcommand in ``joinstall.commands``.

Each command module defines ``NAME``, a docstring (its help text), ``add_arguments(parser)``
and ``run(args) -> int``. Errors and signals are mapped to exit codes here, and only here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from joinstall import commands, reaper
from joinstall.errors import ExitCode, JoinstallError, NoProcError

#: What `joinstall --help` says: for users, not for developers of joinstall.
DESCRIPTION = (
    "Reproduce, prove and explain the multiprocessing join-before-get stall: a child puts a large"
    " payload into a Queue, the parent joins before it gets, and both wait for ever."
)
EPILOG = "Start with `joinstall demo`, or `joinstall run --size 1MiB`. Exit codes: see the README."


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line that says where to look, and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def command_modules(only: str | None = None) -> list[ModuleType]:
    """The command modules (a module's file is named as its command); ``only``: that one alone,
    if it is one: ``joinstall spy`` need not import what ``demo`` and ``sweep`` import."""
    names = [m.name for m in pkgutil.iter_modules(commands.__path__)]
    if only in names:
        names = [only]
    mods = [importlib.import_module(f"joinstall.commands.{name}") for name in names]
    return sorted((m for m in mods if hasattr(m, "NAME")), key=lambda m: m.NAME)


class _Version(argparse.Action):
    """``--version``, looked up only when asked for (``importlib.metadata`` is slow to import)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> NoReturn:
        import joinstall

        print(f"{parser.prog} {joinstall.__version__}")
        parser.exit()


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The parser; given the arguments, with only the command they name (all of them for help)."""
    parser = Parser(prog="joinstall", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    first = next((a for a in argv or () if not a.startswith("-")), None)
    for mod in command_modules(first):
        doc = (mod.__doc__ or "").strip()
        p = sub.add_parser(mod.NAME, help=doc.splitlines()[0], description=doc)
        mod.add_arguments(p)
        p.set_defaults(handler=mod.run)
    return parser


def _signalled() -> int:
    """128 + the first signal, as a shell reports it: 130 for SIGINT, 143 for SIGTERM."""
    first = reaper.first_signal()
    return int(ExitCode.TERMINATED if first == signal.SIGTERM else ExitCode.INTERRUPTED)


def main(argv: Sequence[str] | None = None) -> int:
    reaper.install_signal_handlers()
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return int(ExitCode.OK)
    try:
        try:
            code: int = args.handler(args)
            sys.stdout.flush()
            return code
        except JoinstallError as exc:
            text = exc.message()
            if isinstance(exc, NoProcError) and args.command in NoProcError.FLAGS:
                text += f" ({NoProcError.FLAGS[args.command]})"
            print(f"joinstall {args.command}: error: {text}", file=sys.stderr)
            return int(exc.exit_code)
        except (KeyboardInterrupt, reaper.Stopping):
            # Every live tree was killed by the signal handler and reaped on the way up.
            print(
                f"joinstall {args.command}: interrupted; all processes it started were reaped",
                file=sys.stderr,
            )
            return _signalled()
    except BrokenPipeError:
        # The reader went away (`joinstall variants | head`): say nothing more, and keep the
        # interpreter from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.BROKEN_PIPE)
