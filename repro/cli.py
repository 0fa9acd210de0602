"""The ``joinstall`` command line: one module per subcommand in ``joinstall.commands``.

Each command module defines ``NAME``, a docstring (its help text), ``add_arguments(parser)``
and ``run(args) -> int``. Errors are mapped to exit codes here, and only here.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from joinstall import commands
from joinstall.errors import ExitCode, JoinstallError


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line that says where to look, and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def command_modules() -> list[ModuleType]:
    mods = [
        importlib.import_module(f"joinstall.commands.{m.name}")
        for m in pkgutil.iter_modules(commands.__path__)
    ]
    return sorted((m for m in mods if hasattr(m, "NAME")), key=lambda m: m.NAME)


def build_parser() -> Parser:
    parser = Parser(prog="joinstall", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for mod in command_modules():
        doc = (mod.__doc__ or "").strip()
        p = sub.add_parser(mod.NAME, help=doc.splitlines()[0], description=doc)
        mod.add_arguments(p)
        p.set_defaults(handler=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except JoinstallError as exc:
        print(f"joinstall {args.command}: error: {exc.message()}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        # Every process was already reaped by the harness's finally blocks on the way up.
        print(f"joinstall {args.command}: interrupted; all processes it started were reaped", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
