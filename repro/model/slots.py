"""The Linux ``fs/pipe.c`` slot/merge rule for a pipe nobody reads. Pure: no process, no pipe.

Capacity is counted in page slots, not bytes, so many small writes can fill a pipe that holds
far fewer bytes than its capacity.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable

#: POSIX atomicity bound; on Linux it equals the page size (4 KiB).
PIPE_BUF = 4096
PAGE_SIZE = 4096


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a pipe nobody reads makes of a sequence of blocking writes."""

    #: Index of the first write that cannot complete (the writer sleeps in it), None if all fit.
    blocked_at: int | None
    #: Bytes of that blocked write that went in before it blocked (0 for an atomic refusal; a
    #: non-blocking write returns this count, or EAGAIN when it is 0). 0 when nothing blocked.
    bytes_accepted: int
    #: Page slots in use at the end.
    slots_used: int
    #: Bytes in the pipe at the end (FIONREAD).
    fill: int

    @property
    def fits(self) -> bool:
        return self.blocked_at is None


def simulate(writes: Iterable[int], capacity: int, page_size: int = PAGE_SIZE) -> Outcome:
    """Replay ``pipe_write`` for each write on a pipe of ``capacity`` bytes that nobody reads.

    Per write of ``len`` bytes: if the pipe is non-empty and ``len % page_size`` is non-zero,
    that remainder is first merged into the last page when it fits there (``chars &&
    !was_empty`` and ``offset + chars <= PAGE_SIZE``); the rest takes fresh pages, one slot
    each, full or not. With no free slot the writer sleeps. Writes of up to PIPE_BUF bytes come
    out atomic by construction: they merge whole or need exactly one fresh page. (The kernel's
    ``chars != 0`` test only skips merging nothing; it changes no outcome, and tests show it.)
    """
    slots = capacity // page_size
    if slots < 1:
        raise ValueError(f"capacity {capacity} is smaller than one page of {page_size} bytes")
    used = 0
    last = 0  # bytes in the last page
    fill = 0
    for index, length in enumerate(writes):
        remaining = length
        if remaining <= 0:
            continue  # a null write succeeds without touching the pipe
        chars = remaining % page_size
        if chars and used and last + chars <= page_size:
            last += chars
            fill += chars
            remaining -= chars
        while remaining:
            if used == slots:
                return Outcome(index, length - remaining, used, fill)
            take = min(page_size, remaining)
            used += 1
            last = take
            fill += take
            remaining -= take
    return Outcome(None, 0, used, fill)


def page_size() -> int:
    """This machine's page size: the unit the kernel counts pipe slots in."""
    return int(os.sysconf("SC_PAGE_SIZE"))
