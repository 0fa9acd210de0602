"""Files joinstall writes: whole or not at all, and never in place of a file that is not its own.

``check_target`` refuses, before any work starts, a path that cannot or must not be written: a
directory, a FIFO or a device (it would be replaced by a file), someone else's file (it would
be lost). ``write_atomic`` writes a temporary file in the same folder and renames it over the
target, so a reader never sees half a file, and a failed write leaves no temporary file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from joinstall.errors import JoinstallError

_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    0: "a dangling symbolic link",
}


def check_target(
    path: Path,
    *,
    ours: Callable[[Path], bool],
    what: str,
    option: str,
    example: str,
    error: type[JoinstallError],
) -> None:
    """Raise ``error`` in one line when ``path`` may not be written or replaced.

    ``ours(path)``: whether an existing, non-empty file is one joinstall wrote (of the kind
    ``what``, say "results file"), so it may be replaced; ``option``: the flag that names the
    path (``-o``), for the advice; ``example``: a file name to suggest inside a directory.
    """
    advice = f"choose another {option}"
    if path.is_dir():
        raise error(f"{path} is a directory; pass a file path to {option}, e.g. {path / example}")
    existing = next((p for p in path.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise error(f"cannot create {path}: {existing} is a file, not a directory; {advice}")
    if path.exists() or path.is_symlink():
        mode = path.stat().st_mode if path.exists() else 0
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise error(f"{path} is {kind}, not a {what}; {advice}")
        if path.stat().st_size and not ours(path):
            raise error(f"{path} is not a joinstall {what} and would be overwritten; {advice}")
    place = path if path.exists() else existing
    if place is not None and not os.access(place, os.W_OK):
        raise error(f"cannot write {path}: {place} is not writable; {advice}")


def read(path: Path, *, error: type[JoinstallError], missing: str, empty: str) -> bytes:
    """The bytes of ``path``; ``error`` in one line when it is missing (``missing`` says what to
    do then), cannot be read, or holds nothing but white space (``empty``)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path} does not exist; {missing}") from None
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror}") from None
    if not raw.strip():
        raise error(f"{path} is empty; {empty}")
    return raw


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, then rename it over ``path``.

    Raises OSError (disk full, a folder that is not writable); the temporary file is gone then.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; a file written in place would follow the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        # A write that failed halfway (disk full, a signal) leaves no temporary file.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
