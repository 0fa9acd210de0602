"""joinstall lint: precision and recall on its labelled corpus, and its cost on the standard library.

The corpus labels are measured (tests/integration/test_lint_corpus.py runs every program).
The cost is CPU time in one process, per core: lint (read from memory, parse, look, walk) next
to a bare ast.parse of the same sources, best of a few interleaved rounds, since the machine is
shared. Goals: precision and recall >= 95 %; lint <= 1.2x ast.parse.
"""

from __future__ import annotations

import ast
import contextlib
import os
import sysconfig
import time
import warnings
from pathlib import Path

from joinstall.lint import rules
from joinstall.lint.check import lint_source
from joinstall.lint.runner import expand, lint_paths, workers

from tests.lint_corpus import score

GOAL_SCORE = 0.95
GOAL_RATIO = 1.2
ROUNDS = 3


def stdlib_files() -> list[str]:
    """Every .py of the running interpreter's standard library (its tests too), no site-packages."""
    root = sysconfig.get_paths()["stdlib"]
    return [f for f in expand([root]) if "site-packages" not in f and "dist-packages" not in f]


def _parse_all(sources: list[bytes]) -> None:
    for s in sources:
        with contextlib.suppress(SyntaxError, ValueError, RecursionError):
            ast.parse(s)


def _lint_all(files: list[str], sources: list[bytes]) -> tuple[int, int, list[str]]:
    found = not_linted = 0
    crashes = []
    for f, s in zip(files, sources, strict=True):
        try:
            for finding in lint_source(s, f):
                if finding.code in rules.RULES:
                    found += 1
                else:
                    not_linted += 1
        except Exception as exc:  # a crash is a bug: count and show it, measure the rest
            crashes.append(f"{f}: {type(exc).__name__}: {exc}")
    return found, not_linted, crashes


def _cpu(fn: object, *args: object) -> tuple[float, object]:
    start = time.process_time()
    out = fn(*args)  # type: ignore[operator]
    return time.process_time() - start, out


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def corpus() -> None:
    s = score.score()
    print(f"labelled corpus: {s.bad_total} programs that hang or lose data, {s.fine_total} near misses")
    print(
        f"  per finding: precision {s.precision:.1%} ({s.true_pos}/{s.true_pos + s.false_pos}),"
        f" recall {s.recall:.1%} ({s.true_pos}/{s.true_pos + s.false_neg})"
    )
    print(
        f"  per program: precision {s.program_precision:.1%}, recall {s.program_recall:.1%}"
        f" ({s.bad_flagged}/{s.bad_total} flagged; {s.fine_flagged}/{s.fine_total} near misses flagged)"
    )
    for line in s.misses:
        print(f"  missed: {line}")
    for line in s.false_alarms:
        print(f"  false alarm: {line}")
    ok = min(s.precision, s.recall, s.program_precision, s.program_recall) >= GOAL_SCORE
    print(f"  goal >= {GOAL_SCORE:.0%} each: {_met(ok)}")


def stdlib() -> None:
    files = stdlib_files()
    sources = [Path(f).read_bytes() for f in files]
    size = sum(map(len, sources))
    print(f"\nstandard library: {len(files)} files, {size / 1e6:.1f} MB ({sysconfig.get_paths()['stdlib']})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes in the library's own tests
        parse_times, lint_times = [], []
        for _ in range(ROUNDS):
            parse_times.append(_cpu(_parse_all, sources)[0])
            secs, result = _cpu(_lint_all, files, sources)
            lint_times.append(secs)
    found, not_linted, crashes = result  # type: ignore[misc]
    parse, lint = min(parse_times), min(lint_times)
    print(f"  ast.parse   {parse:6.2f} s CPU (best of {ROUNDS})")
    print(f"  lint        {lint:6.2f} s CPU   {lint / parse:.2f}x of ast.parse (goal <= {GOAL_RATIO:g}x: {_met(lint / parse <= GOAL_RATIO)})")  # fmt: skip
    print(f"  findings: {found}; files that do not parse: {not_linted}; crashes: {len(crashes)}")
    for line in crashes[:5]:
        print(f"  CRASH {line}")
    n = workers(None, len(files))
    start = time.perf_counter()
    parallel = sum(1 for f in lint_paths(files) if f.code in rules.RULES)
    wall = time.perf_counter() - start
    print(
        f"  on {n} cores (reading files too): {wall:.2f} s wall, {parallel} findings (cores: {os.cpu_count()})"
    )


def main() -> None:
    corpus()
    stdlib()
