"""The flake8 plugin: ``flake8 --select JS`` runs the same rules on the tree flake8 parsed.

flake8 applies ``# noqa`` and its own --select/--ignore; this only reports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from typing import Any

from joinstall import __version__
from joinstall.lint.check import analyse, may_hold_findings


class Plugin:
    """Registered as ``JS`` under ``flake8.extension``."""

    name = "joinstall"
    version = __version__

    def __init__(self, tree: ast.AST, lines: Sequence[str]) -> None:
        self.tree = tree
        self.lines = list(lines)

    def run(self) -> Iterator[tuple[int, int, str, type[Any]]]:
        if not may_hold_findings("".join(self.lines)):
            return
        for line, col, code, message in analyse(self.tree, self.lines):
            yield line, col, f"{code} {message}", type(self)
