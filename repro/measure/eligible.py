"""Which interpreters can take part in the matrix, and why the others cannot.

Too old is the common reason (the target program needs CPython 3.8); a skip says so in plain
words rather than with the traceback of a failed probe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from joinstall import defaults, interpreters
from joinstall.errors import UsageError

#: Why an interpreter older than the program's floor is skipped (the reason discover gives is
#: about versions; this one says what it means here).
MIN_VERSION = defaults.MIN_PYTHON
TOO_OLD = f"the target program runs on CPython {'.'.join(map(str, MIN_VERSION))} or newer"


@dataclasses.dataclass(frozen=True)
class Skipped:
    """An interpreter that was found but cannot take part, and why."""

    path: str
    reason: str


def _too_old(version: str) -> bool:
    return interpreters.version_tuple(version)[:2] < MIN_VERSION


def _skip_reason(reason: str) -> str:
    return f"{TOO_OLD} ({reason})" if "older than" in reason else reason


def candidates(pythons: Sequence[str] | None) -> tuple[list[interpreters.Interpreter], list[Skipped]]:
    """The interpreters to measure: the given ones, or every one ``discover()`` finds."""
    if not pythons:
        good, bad = interpreters.discover(MIN_VERSION)
        return good, [Skipped(path, _skip_reason(reason)) for path, reason in sorted(bad.items())]
    found, skipped = [], []
    for path in pythons:
        try:
            interp = interpreters.probe(path)
        except UsageError as exc:
            skipped.append(Skipped(path, _skip_reason(str(exc))))
            continue
        if _too_old(interp.version):
            skipped.append(Skipped(path, f"{TOO_OLD} (this is Python {interp.version})"))
        else:
            found.append(interp)
    return found, skipped
