"""Find CPython interpreters (PATH and pyenv) and ask each what it supports."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import glob
import itertools
import json
import os
import shutil
import subprocess
import sys

from joinstall.errors import UsageError

_PROBE = (
    "import json, multiprocessing as m, platform, sys; print(json.dumps({"
    "'version': platform.python_version(),"
    # Python 2.7 has neither: it still answers with its version, so that it can be named.
    "'methods': getattr(m, 'get_all_start_methods', lambda: [])(),"
    "'default': getattr(m, 'get_start_method', lambda: '')(), 'executable': sys.executable}))"
)
PROBE_TIMEOUT = 20.0


def version_tuple(version: str) -> tuple[int, ...]:
    """``"3.13.0rc1"`` -> ``(3, 13, 0)``: the numeric part, for sorting and comparing."""
    parts = []
    for piece in version.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@dataclasses.dataclass(frozen=True)
class Interpreter:
    path: str
    version: str
    start_methods: tuple[str, ...]
    default_method: str

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


@functools.lru_cache(maxsize=64)
def probe(path: str) -> Interpreter:
    """Ask an interpreter its version and start methods; UsageError if it cannot answer."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise UsageError(f"interpreter {path} does not exist or is not executable; pass --python PATH")
    try:
        out = subprocess.run(
            [path, "-c", _PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=True
        ).stdout
        info = json.loads(out)
    except (subprocess.SubprocessError, OSError, ValueError) as exc:
        raise UsageError(f"interpreter {path} did not answer ({exc}); pass a working --python") from None
    return Interpreter(path, info["version"], tuple(info["methods"]), info["default"])


def current() -> Interpreter:
    return probe(sys.executable)


def _pyenv_pythons() -> list[str]:
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    pyenv = shutil.which("pyenv")
    if pyenv:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            root = (
                subprocess.run(
                    [pyenv, "root"], capture_output=True, text=True, timeout=10, check=True
                ).stdout.strip()
                or root
            )
    return sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python")))


def _path_pythons() -> list[str]:
    found = []
    for minor in range(8, 15):
        exe = shutil.which(f"python3.{minor}")
        # pyenv shims answer for versions that are not active; the real binaries are found above.
        if exe and "/shims/" not in exe:
            found.append(exe)
    return found


def candidates() -> list[str]:
    """Paths of every CPython we can see, duplicates (same real file) removed."""
    seen, out = set(), []
    for path in [sys.executable, *_path_pythons(), *_pyenv_pythons()]:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            out.append(path)
    return out


def discover(min_version: tuple[int, int] = (3, 8)) -> tuple[list[Interpreter], dict[str, str]]:
    """Interpreters that run the program, and those that could not be used, with the reason."""
    good, bad = [], {}
    by_version: dict[str, Interpreter] = {}
    for path in candidates():
        try:
            interp = probe(path)
        except UsageError as exc:
            bad[path] = str(exc)
            continue
        if version_tuple(interp.version)[:2] < min_version:
            bad[path] = f"Python {interp.version} is older than {min_version[0]}.{min_version[1]}"
        elif interp.version not in by_version:
            by_version[interp.version] = interp
    good = sorted(by_version.values(), key=lambda i: version_tuple(i.version))
    return good, bad
