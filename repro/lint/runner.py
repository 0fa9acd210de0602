"""Many files: expand folders, then lint in parallel on every core when there are enough files."""

from __future__ import annotations

import concurrent.futures
import functools
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from joinstall.errors import UsageError
from joinstall.lint.check import ALL, Finding, Selection, lint_file, lint_source

#: Below this many files a pool costs more to start than it saves.
PARALLEL_FROM = 48
#: Folders never entered while expanding a folder (a file named on the command line is linted).
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "build", "dist"})


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        yield from (Path(root, f) for f in sorted(files) if f.endswith(".py") and _readable(Path(root, f)))


def _readable(path: Path) -> bool:
    """Not a FIFO, socket or device found in a folder (its read could block for ever).

    A link that loops or dangles stays in: its E902 finding says why it cannot be read.
    """
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return True


def expand(paths: Sequence[str]) -> list[str]:
    """Files to lint, in order; ``-`` stays ``-`` (stdin). Any missing path is refused up front.

    A symbolic link that loops or dangles exists: it is linted, and its E902 says why it fails.
    """
    missing = [p for p in paths if p != "-" and not os.path.lexists(p)]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    out: list[str] = []
    for p in paths:
        out.extend(str(f) for f in _walk(Path(p))) if os.path.isdir(p) else out.append(p)
    return out


def workers(jobs: int | None, files: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = cores if jobs is None else jobs
    return max(1, min(wanted, files // (PARALLEL_FROM // 2) or 1))


def lint_paths(
    files: Sequence[str], select: Selection = ALL, jobs: int | None = None, stdin: bytes | None = None
) -> Iterator[Finding]:
    """Findings file by file, in the order of ``files``; ``-`` is linted from ``stdin``."""
    one = functools.partial(lint_file, select=select)
    on_disk = [f for f in files if f != "-"]
    n = workers(jobs, len(on_disk))
    if n == 1 or len(on_disk) < PARALLEL_FROM:
        results: Iterator[list[Finding]] = map(one, on_disk)
        yield from _in_order(files, results, stdin, select)
        return
    # Chunks of several files each: one round trip per chunk, not per file.
    chunk = max(1, len(on_disk) // (n * 8))
    with concurrent.futures.ProcessPoolExecutor(max_workers=n) as pool:
        yield from _in_order(files, pool.map(one, on_disk, chunksize=chunk), stdin, select)


def _in_order(
    files: Sequence[str], results: Iterator[list[Finding]], stdin: bytes | None, select: Selection
) -> Iterator[Finding]:
    for f in files:
        # stdin is linted here, in this process: it is read once and never sent to a worker.
        yield from lint_source(stdin or b"", "stdin", select) if f == "-" else next(results)
