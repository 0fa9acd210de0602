"""JSON Lines results: a metadata record first, then one record per line, never half-written.

Every record is a JSON object with a ``kind``: ``meta`` (first line only), ``run`` (a
RunResult), ``threshold``, ``multiput``, ``matrix`` or ``spy``. Records that repeat work carry
a ``key``; a resumed sweep skips keys that are already there. A line is written with one
``write()`` of the whole line, flushed and fsynced, so a crash can tear at most the last line,
and opening the file again repairs exactly that (and says so).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from joinstall import __version__, files, interpreters
from joinstall.errors import ResultsError
from joinstall.observe import pipes
from joinstall.records import SCHEMA


def metadata(config: Mapping[str, Any]) -> dict[str, Any]:
    """What a results file needs to be read and compared later: machine, kernel, interpreters."""
    pythons = {config.get("python") or interpreters.current().path}
    return {
        "kind": "meta",
        "schema": SCHEMA,
        "tool_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "system": platform.system(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "page_size": os.sysconf("SC_PAGE_SIZE"),
        "pipe_capacity": pipes.default_capacity(),
        "pipe_max_size": pipes.max_size(),
        "interpreters": {p: interpreters.probe(p).version for p in sorted(pythons)},
        "config": dict(config),
    }


def read(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
    """(meta, records, torn): ``torn`` is True when the last line was incomplete (it is skipped)."""
    raw = files.read(
        path, error=ResultsError, missing=f"run `joinstall sweep -o {path}` first",
        empty=f"run `joinstall sweep -o {path}` to fill it",
    )  # fmt: skip
    lines = raw.split(b"\n")
    torn = lines[-1] != b""
    body = lines[:-1]
    records: list[dict[str, Any]] = []
    for number, line in enumerate(body, 1):
        try:
            record = json.loads(line)
        except ValueError:
            raise ResultsError(
                f"{path}:{number} is not a JSON record; this is not a joinstall results file"
            ) from None
        if not isinstance(record, dict):
            # Checked here, once, so that no reader trips over a list's missing .get().
            raise ResultsError(f"{path}:{number} is not a JSON object; this is not a joinstall results file")
        records.append(record)
    first = records[0] if records else None
    if first is None or first.get("kind") != "meta" or "schema" not in first:
        raise ResultsError(f"{path} has no joinstall metadata line; it is not a joinstall results file")
    if first["schema"] != SCHEMA:
        by = first.get("tool_version", "another version")
        raise ResultsError(
            f"{path} was written by joinstall {by} in results schema {first['schema']}, not {SCHEMA};"
            " measure again (sweep: --fresh)"
        )
    return first, records[1:], torn


def records(path: Path, kind: str) -> Iterator[dict[str, Any]]:
    _, recs, _ = read(path)
    return (r for r in recs if r.get("kind") == kind)


def is_results_file(path: Path) -> bool:
    """True when the file's first line is a joinstall metadata record (of any schema)."""
    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    try:
        meta = json.loads(first)
    except ValueError:
        return False
    return isinstance(meta, dict) and meta.get("kind") == "meta" and "schema" in meta


def check_target(path: Path) -> None:
    """Refuse an output path that cannot be written, or must not be, before any run starts.

    Only a regular file that joinstall wrote may be resumed or replaced (``--fresh``): a FIFO
    or a device would be replaced by a file, and someone else's file would be lost.
    """
    files.check_target(
        path, ours=is_results_file, what="results file", option="-o", example="results.jsonl",
        error=ResultsError,
    )  # fmt: skip


class Writer:
    """Appends records to a results file, creating it with its metadata or resuming it."""

    def __init__(self, path: Path, config: Mapping[str, Any], resume: bool = True) -> None:
        check_target(path)
        self.path = path
        self.repaired = False
        self.keys: set[str] = set()
        if resume and path.exists() and path.stat().st_size:
            meta, recs, torn = read(path)
            if meta.get("config") != json.loads(json.dumps(dict(config))):
                raise ResultsError(
                    f"{path} was written by a different configuration; pass another -o (sweep: or --fresh to overwrite it)"
                )
            if torn:
                self._truncate_torn_tail()
            self.keys = {r["key"] for r in recs if "key" in r}
        else:
            self._create(metadata(config))
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise ResultsError(f"cannot write {path}: {exc.strerror}; choose a writable -o path") from None

    def _create(self, meta: Mapping[str, Any]) -> None:
        """Write the metadata line whole or not at all, so no reader sees half of it."""
        try:
            files.write_atomic(self.path, (json.dumps(meta, sort_keys=True) + "\n").encode())
        except OSError as exc:
            raise ResultsError(
                f"cannot write {self.path}: {exc.strerror}; choose a writable -o path"
            ) from None

    def _truncate_torn_tail(self) -> None:
        raw = self.path.read_bytes()
        with open(self.path, "r+b") as f:
            f.truncate(raw.rfind(b"\n") + 1)
        self.repaired = True

    def done(self, key: str) -> bool:
        return key in self.keys

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one whole line, or nothing: a failed write is cut back off the file."""
        line = memoryview((json.dumps(record, sort_keys=True) + "\n").encode())
        before = os.fstat(self._fd).st_size
        try:
            while line:
                line = line[os.write(self._fd, line) :]
            os.fsync(self._fd)
        except OSError as exc:
            os.ftruncate(self._fd, before)
            raise ResultsError(
                f"cannot append to {self.path}: {exc.strerror}; free space and resume"
            ) from None
        if "key" in record:
            self.keys.add(str(record["key"]))

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def optional(
    path: Path | None, config: Mapping[str, Any]
) -> contextlib.AbstractContextManager[Writer | None]:
    """A Writer for an optional ``-o``; without one, a context that yields None."""
    return contextlib.nullcontext() if path is None else Writer(path, config)
