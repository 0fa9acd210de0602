"""Saving a diagnosis with its evidence (``joinstall.engine.saved``), for ``joinstall explain``.

``--joinstall-save DIR`` writes one file per hanging or timed-out test, named after its test id;
the monitor hands pytest the same document (``saved.dump``) it is written from.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from joinstall.errors import JoinstallError

if TYPE_CHECKING:
    from joinstall.engine import Diagnosis

#: How long a file name may get before the test's id is cut (file systems allow 255 bytes).
NAME_LIMIT = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(nodeid: str) -> str:
    """A file name for a test: its id made safe for any file system, and a hash that keeps
    ids apart once made safe or cut (``test_a.py::t[x/y]`` and ``test_a.py::t[x_y]``)."""
    digest = hashlib.sha1(nodeid.encode()).hexdigest()[:8]
    stem = _UNSAFE.sub("_", nodeid.replace("::", "--")).strip("._-")[:NAME_LIMIT] or "test"
    return f"{stem}-{digest}.json"


def save(folder: Path, name: str, diagnosis: Diagnosis) -> tuple[Path | None, str]:
    """Write ``diagnosis`` into ``folder`` under a new file name: the file, and the report's line."""
    from joinstall.engine import saved

    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = _reserve(folder, name)
        saved.write(path, diagnosis)
    except OSError as exc:
        return None, f"Could not save the diagnosis in {folder}: {exc.strerror or exc}."
    except (JoinstallError, ValueError) as exc:
        return None, f"Could not save the diagnosis in {folder}: {exc}."
    return path, f"Saved the diagnosis to {path}; read it on any machine with `joinstall explain {path}`."


def _reserve(folder: Path, name: str) -> Path:
    """A path no other test (or xdist worker) has taken: the name, else name-2, name-3, ..."""
    stem, suffix = os.path.splitext(name)
    for n in range(1, 1000):
        path = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{folder / name} and 998 more exist")
