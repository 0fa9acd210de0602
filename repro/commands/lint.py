"""Find the join-before-get stall and its family in source code, before it runs.

Reads Python files and folders (recursively; - for stdin) and reports JS101 join before drain,
JS102 Popen.wait() with an unread pipe, JS103 a pool joined before its queue is drained and
JS104 the false fix cancel_join_thread(). Lines are path:line:col: CODE message, as flake8's;
`# noqa: JS101` silences one line. Exit status 0 when clean, 1 with findings (or a file that
does not parse), 2 on bad input. `joinstall lint --explain JS101` explains a rule.
"""

from __future__ import annotations

import argparse
import sys

from joinstall.errors import ExitCode, UsageError
from joinstall.lint import output, rules, runner
from joinstall.lint.check import Selection

NAME = "lint"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="files and folders to lint; - reads stdin")
    p.add_argument("--format", choices=output.FORMATS, default="text", help="text (default), json or sarif")
    p.add_argument("--select", action="append", default=None, metavar="CODES", help="only these codes or prefixes, comma-separated (default JS)")  # fmt: skip
    p.add_argument("--ignore", action="append", default=None, metavar="CODES", help="never these codes or prefixes, comma-separated")  # fmt: skip
    p.add_argument("--explain", metavar="CODE", help="print the page of one rule and exit")
    p.add_argument("-j", "--jobs", type=int, default=None, help="processes to lint with (default: all cores)")


def _codes(values: list[str] | None, flag: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for v in values or () for c in v.split(",") if c.strip())
    known = (*rules.RULES, rules.SYNTAX, rules.UNREADABLE)
    for c in codes:
        if not any(k.startswith(c) for k in known):
            raise UsageError(f"{flag} {c}: no such rule; the rules are {', '.join(rules.RULES)}")
    return codes


def _explain(code: str) -> int:
    rule = rules.RULES.get(code.strip().upper())
    if rule is None:
        raise UsageError(f"--explain {code}: no such rule; the rules are {', '.join(rules.RULES)}")
    print(rule.page, end="")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.explain:
        return _explain(args.explain)
    if not args.paths:
        raise UsageError("give at least one PATH (a file or folder), or - to read stdin")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("-j must be 1 or more")
    select = Selection(_codes(args.select, "--select") or ("JS",), _codes(args.ignore, "--ignore"))
    files = runner.expand(args.paths)
    stdin = sys.stdin.buffer.read() if "-" in files else None
    findings = list(runner.lint_paths(files, select, args.jobs, stdin))
    text = output.render(findings, args.format)
    if text:
        print(text)
    return int(ExitCode.FINDINGS if findings else ExitCode.OK)
