"""Errors a user can act on, and the exit codes they map to (in one place: ``cli.main``).

``ExitCode`` is the table of exit statuses; the README's table says the same, row for row.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar


class ExitCode(enum.IntEnum):
    """What a joinstall command's exit status means."""

    #: The command did its job (a stalled run that was diagnosed is a success too).
    OK = 0
    #: A measurement disagrees with its prediction (threshold, matrix): the CI guard tripped.
    MISMATCH = 1
    #: ``spy``: no hang was proven (the tree is blocked but live, or running); the verdict says why.
    NO_HANG = 1
    #: ``lint``: the check found something (or a file did not parse), flake8's convention.
    FINDINGS = 1
    #: Bad input: a one-line message says what to change; nothing was started or written.
    USAGE = 2
    #: The target program itself failed (verdict ``error``): its stderr is in the output.
    PROGRAM_FAILED = 3
    #: ``watch``: a hang of the command was proven; the diagnosis is on stderr and the command's
    #: whole process tree was stopped. Apart from 0-5, 124-127 and 128+N that tools commonly use.
    HANG_PROVEN = 86
    #: ``watch --timeout``: the command ran out of time with no hang proven, as timeout(1) exits;
    #: what each thread waited on is on stderr, and the command's whole process tree was stopped.
    TIMED_OUT = 124
    #: SIGINT (Ctrl-C), once or many times: every process that was started has been reaped.
    INTERRUPTED = 130
    #: The reader of our output went away (``joinstall variants | head``): 128 + SIGPIPE.
    BROKEN_PIPE = 141
    #: SIGTERM: as for SIGINT, every process that was started has been reaped.
    TERMINATED = 143


class JoinstallError(Exception):
    """Base class: ``str(err)`` says what happened, ``HELP_TEXT`` what to do next."""

    HELP_TEXT = ""
    exit_code = ExitCode.USAGE

    def message(self) -> str:
        text = str(self)
        return f"{text}; {self.HELP_TEXT}" if self.HELP_TEXT else text


class UsageError(JoinstallError):
    """A bad option or argument."""


class PlatformError(JoinstallError):
    """The platform lacks something joinstall needs (``/proc``, an interpreter)."""


class NoProcError(PlatformError):
    """No Linux ``/proc``: a stall cannot be proven from outside, only waited out."""

    #: The flag of each command's timeout-based mode: the command line names it, the engine not.
    FLAGS: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"run": "--faithful", "sweep": "--faithful", "threshold": "--timeout-based"}
    )


class ResultsError(JoinstallError):
    """A results file that is missing, empty, torn or from another configuration."""
