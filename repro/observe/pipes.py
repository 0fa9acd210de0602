"""Pipe capacities: the one place that asks the kernel, and the one policy for ``--pipe-size``.

Linux rounds a requested capacity up to a power-of-two number of pages and refuses sizes above
``/proc/sys/fs/pipe-max-size`` without CAP_SYS_RESOURCE (EPERM). We ask the kernel on a scratch
pipe before any program starts, so a refused size is a one-line error, not a failed run.
"""

from __future__ import annotations

import fcntl
import functools
import os
from pathlib import Path

from joinstall.errors import UsageError

# Named in fcntl from Python 3.10; the numbers are Linux's.
F_SETPIPE_SZ: int = getattr(fcntl, "F_SETPIPE_SZ", 1031)
F_GETPIPE_SZ: int = getattr(fcntl, "F_GETPIPE_SZ", 1032)
#: One page: the kernel rounds anything smaller up to it, which would hide a typo.
MIN_SIZE = 4096
#: fcntl's argument is a C int: a larger value would wrap around silently.
MAX_SIZE = 2**31 - 1
HELP = "use 4096 up to /proc/sys/fs/pipe-max-size, or 0 for the kernel's default"


def _scratch(size: int | None) -> int:
    r, w = os.pipe()
    try:
        if size is not None:
            fcntl.fcntl(w, F_SETPIPE_SZ, size)
        return int(fcntl.fcntl(w, F_GETPIPE_SZ))
    finally:
        os.close(r)
        os.close(w)


@functools.lru_cache(maxsize=1)
def default_capacity() -> int:
    """The capacity of a new pipe on this machine (64 KiB unless the user is over a limit)."""
    return _scratch(None)


def max_size() -> int | None:
    """``/proc/sys/fs/pipe-max-size``, or None where there is no such file."""
    try:
        return int(Path("/proc/sys/fs/pipe-max-size").read_text())
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def capacity_for(size: int) -> int:
    """The capacity a pipe gets when ``--pipe-size size`` is asked (0: the default).

    Raises UsageError, with the kernel's reason, for a size it would refuse.
    """
    if size == 0:
        return default_capacity()
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise UsageError(f"pipe size {size} is out of range; {HELP}")
    try:
        return _scratch(size)
    except OSError as exc:
        raise UsageError(
            f"the kernel refused pipe size {size} ({os.strerror(exc.errno or 0)}); {HELP}"
        ) from None
