"""Open the results file of a command before its first run: a bad ``-o`` costs nothing.

Every command that writes results (sweep, threshold, matrix) opens its file here, so that a
path it cannot write is one line and exit 2 before any process starts, not a traceback after
all the runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from repro import resultsfile
from repro.errors import ResultsError


def open_results(path: Path, config: Mapping[str, Any], resume: bool = True) -> resultsfile.Writer:
    """Create ``path`` with its metadata, or check and repair it to resume; ResultsError if not."""
    if path.is_dir():
        raise ResultsError(f"{path} is a directory; pass a file path to -o, e.g. {path / 'results.jsonl'}")
    # mkdir under a plain file fails with an errno that names neither: say which one is in the way.
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ResultsError(f"cannot create {path}: {blocker} is a file, not a directory; choose another -o")
    try:
        return resultsfile.Writer(path, config, resume=resume)
    except OSError as exc:
        raise ResultsError(f"cannot write {path}: {exc.strerror}; choose a writable -o path") from None


def open_optional(
    path: Path | None, config: Mapping[str, Any]
) -> contextlib.AbstractContextManager[resultsfile.Writer | None]:
    """``open_results`` for an optional ``-o``: without one, a context that yields None."""
    return contextlib.nullcontext() if path is None else open_results(path, config)
