"""Which interpreters can take part in the matrix, and why the others cannot.

Too old is the common reason (the target program needs CPython 3.8); a skip says so in plain
words rather than with the traceback of a failed probe.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Sequence

from repro import interpreters
from repro.errors import UsageError

#: Why an interpreter older than the program's floor is skipped (the reason discover gives is
#: about versions; this one says what it means here).
TOO_OLD = "the target program runs on CPython 3.8 or newer"
MIN_VERSION = (3, 8)


@dataclasses.dataclass(frozen=True)
class Skipped:
    """An interpreter that was found but cannot take part, and why."""

    path: str
    reason: str


def _version_of(path: str) -> str | None:
    """The bare version of an interpreter too old for the full probe (Python 2.7 has no
    ``get_all_start_methods``), so that a skip can say why in plain words.

    A second probe only because ``interpreters.probe`` gives up on such an interpreter without
    its version; once it answers with the version, ``discover`` says "older than" and this goes.
    """
    try:
        out = subprocess.run(
            [path, "-c", "import platform; print(platform.python_version())"],
            capture_output=True, text=True, timeout=interpreters.PROBE_TIMEOUT, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def _too_old(version: str) -> bool:
    return interpreters.version_tuple(version)[:2] < MIN_VERSION


def _skip_reason(path: str, reason: str) -> str:
    if "older than" in reason:
        return f"{TOO_OLD} ({reason})"
    version = _version_of(path)
    if version and _too_old(version):
        return f"{TOO_OLD} (this is Python {version})"
    return reason


def candidates(pythons: Sequence[str] | None) -> tuple[list[interpreters.Interpreter], list[Skipped]]:
    """The interpreters to measure: the given ones, or every one ``discover()`` finds."""
    if not pythons:
        good, bad = interpreters.discover(MIN_VERSION)
        return good, [Skipped(path, _skip_reason(path, reason)) for path, reason in sorted(bad.items())]
    found, skipped = [], []
    for path in pythons:
        try:
            interp = interpreters.probe(path)
        except UsageError as exc:
            skipped.append(Skipped(path, _skip_reason(path, str(exc))))
            continue
        if _too_old(interp.version):
            skipped.append(Skipped(path, f"{TOO_OLD} (this is Python {interp.version})"))
        else:
            found.append(interp)
    return found, skipped
