"""A diagnosis saved with its evidence, to be explained later on any machine (``joinstall explain``).

The document is one JSON object::

    {"schema": 1, "kind": "joinstall-diagnosis-evidence", "joinstall": "0.1.0",
     "saved_at": "2024-05-01T12:00:00+00:00", "machine": {...}, "evidence": {...},
     "diagnosis": {... Diagnosis.to_dict() ...}, "stacks": {"by_pid": {...}, "missing": [...]}}

``evidence`` (``Evidence.to_dict``) is what the verdict is computed from again; ``diagnosis``
is the verdict as it was printed when saved (a reader without joinstall finds its ``text``);
``machine`` says where the samples were taken: kernel, pipe and socket sizes, and each
process's executable. ``dump``/``load`` are the document as a dict (what the pytest plugin's
monitor sends), ``write``/``read`` the file, written whole or not at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import platform
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joinstall
from joinstall import files
from joinstall.engine.diagnosis import Diagnosis
from joinstall.engine.evidence import Evidence
from joinstall.engine.snapshot import PROC
from joinstall.errors import UsageError
from joinstall.observe import pipes

#: Bumped whenever the document changes so that an older joinstall cannot read it.
SCHEMA = 1
KIND = "joinstall-diagnosis-evidence"
#: What to do when a file is not one of ours.
HOW = "pass a file written by `joinstall spy --save FILE`"
#: Kernel settings that size pipes and sockets, as ``sysctl`` names them, under ``PROC/sys``.
SYSCTLS = ("fs.pipe-max-size", "net.core.rmem_default", "net.core.wmem_default", "net.unix.max_dgram_qlen")
_PYTHON_VERSION = re.compile(r"python(\d+\.\d+)")


def dump(diagnosis: Diagnosis) -> dict[str, Any]:
    """The saved document of a diagnosis that carries its evidence (ValueError if it does not)."""
    evidence = diagnosis.evidence
    if evidence is None:
        raise ValueError("this diagnosis carries no evidence: save one from the engine, not from JSON")
    return {
        "schema": SCHEMA,
        "kind": KIND,
        "joinstall": joinstall.__version__,
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        # A loaded diagnosis keeps the machine it was observed on: its processes may be gone now.
        "machine": dict(evidence.machine) or machine(evidence),
        "evidence": evidence.to_dict(),
        "diagnosis": diagnosis.to_dict(),
        "stacks": {"by_pid": dict(diagnosis.stacks), "missing": list(diagnosis.missing)},
    }


def load(data: object, *, source: str = "the saved diagnosis") -> Diagnosis:
    """The diagnosis as saved, with its Evidence; UsageError in one line if ``data`` is not one.

    A diagnosis saved by an older joinstall that this one cannot read as such is computed again
    from its evidence. ``source`` names the data in messages (a file's path).
    """
    if not isinstance(data, dict) or data.get("kind") != KIND:
        if isinstance(data, dict) and data.get("kind") == "diagnosis":
            raise UsageError(
                f"{source} is a diagnosis without its evidence (`spy --json`), so it cannot be"
                f" explained again; {HOW}"
            )
        raise UsageError(f"{source} is JSON but not a joinstall saved diagnosis; {HOW}")
    schema = data.get("schema")
    if not isinstance(schema, int) or schema < 1:
        raise UsageError(f"{source} has no valid schema number; it is damaged: save it again")
    if schema > SCHEMA:
        by = data.get("joinstall", "?")
        raise UsageError(
            f"{source} was saved by a newer joinstall ({by}, schema {schema}); upgrade joinstall"
            f" (this is {joinstall.__version__}, schema {SCHEMA}) to read it"
        )
    try:
        evidence = Evidence.from_dict(data["evidence"], data.get("machine"))
        stacks = data.get("stacks") or {}
        by_pid, missing = dict(stacks.get("by_pid", {})), tuple(stacks.get("missing", ()))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            f"{source} is a joinstall saved diagnosis with damaged evidence ({type(exc).__name__}:"
            f" {exc}); save it again"
        ) from None
    try:
        saved = Diagnosis.from_dict(data["diagnosis"])
    except (KeyError, TypeError, ValueError):
        return evidence.describe(stacks=by_pid, missing=missing)
    return dataclasses.replace(saved, evidence=evidence)


def document(path: Path) -> object:
    """The JSON value in ``path``; UsageError in one line when it is missing, empty, cut short
    or not JSON at all (``load`` then tells whether it is a saved diagnosis)."""
    raw = files.read(path, error=UsageError, missing=HOW, empty=HOW)
    try:
        data: object = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        if KIND.encode() in raw[:200]:
            where = f" at byte {exc.pos:,}" if isinstance(exc, json.JSONDecodeError) else ""
            raise UsageError(
                f"{path} is a joinstall saved diagnosis cut short or damaged{where}; save it again"
            ) from None
        raise UsageError(f"{path} is not JSON, so not a joinstall saved diagnosis; {HOW}") from None
    return data


def read(path: Path) -> Diagnosis:
    """The saved diagnosis in ``path``; UsageError in one line when it cannot be read as one."""
    return load(document(path), source=str(path))


def said(data: object) -> tuple[str, str]:
    """The verdict a saved document was saved with, and the joinstall that saved it (or ``?``)."""
    doc = data if isinstance(data, dict) else {}
    diagnosis = doc.get("diagnosis")
    verdict = diagnosis.get("verdict") if isinstance(diagnosis, dict) else None
    return str(verdict or "?"), str(doc.get("joinstall") or "?")


def is_saved_file(path: Path) -> bool:
    """Whether ``path`` holds a joinstall saved diagnosis (of any schema, even cut short)."""
    try:
        with open(path, "rb") as f:
            head = f.read(200)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and KIND.encode() in head


def check_target(path: Path, *, option: str = "path") -> None:
    """Refuse, before any work, a path ``write`` may not write: see ``files.check_target``."""
    files.check_target(
        path, ours=is_saved_file, what="saved diagnosis", option=option, example="hang.json", error=UsageError
    )


def write(path: Path, diagnosis: Diagnosis) -> None:
    """Save ``diagnosis`` with its evidence to ``path``, whole or not at all.

    Refuses (UsageError) a path that is a directory, a FIFO or a device, or an existing file that
    is not a joinstall saved diagnosis; replaces an earlier saved diagnosis.
    """
    check_target(path)
    # The kind comes first in the file: a cut-short file can still be told for ours.
    text = json.dumps(dump(diagnosis)) + "\n"
    try:
        files.write_atomic(path, text.encode())
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}; choose another path") from None


def machine(evidence: Evidence) -> dict[str, Any]:
    """Where the evidence was taken, as far as it can be read now (what cannot is left out)."""
    uname = os.uname()
    out: dict[str, Any] = {
        "system": uname.sysname,
        "kernel": uname.release,
        "machine": uname.machine,
        "python": platform.python_version(),
        "page_size": os.sysconf("SC_PAGE_SIZE"),
    }
    with contextlib.suppress(OSError):  # no F_GETPIPE_SZ: not Linux
        out["pipe_capacity"] = pipes.default_capacity()
    for name in SYSCTLS:
        try:
            with open(f"{PROC}/sys/{name.replace('.', '/')}") as f:
                out[name] = int(f.read())
        except (OSError, ValueError):
            continue
    out["processes"] = {str(p.pid): _process(p.pid) for p in evidence.after.procs}
    return out


def _process(pid: int) -> Mapping[str, str]:
    """A process's executable and, when its name or its mappings tell, its Python version."""
    try:
        exe = os.readlink(f"{PROC}/{pid}/exe")
    except OSError:  # gone, or not ours
        return {}
    found = _PYTHON_VERSION.search(os.path.basename(exe))
    if found is None:
        try:
            with open(f"{PROC}/{pid}/maps") as f:
                found = re.search(r"libpython(\d+\.\d+)", f.read())
        except OSError:
            found = None
    return {"exe": exe, "python": found.group(1)} if found else {"exe": exe}
