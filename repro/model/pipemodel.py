"""Predict when a sequence of queue puts blocks, byte for byte, without running the program.

A prediction combines three pieces, each checkable on its own and each in its own module:

* ``joinstall.model.pickled``: the pickled length of a ``bytes`` payload, asked of the *target*
  interpreter (the only piece that may start a process);
* ``joinstall.model.framing``: how ``multiprocessing.connection`` cuts one message into ``write()`` calls;
* ``joinstall.model.slots``: the slot/merge rule of Linux ``fs/pipe.c`` (``pipe_write``) for a pipe
  nobody reads: capacity is counted in page slots, not bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

from joinstall.model.framing import chunk_sizes

# Re-exported: analysis/series/multiput.py and the teaching notebooks read them as ``pipemodel.X``.
from joinstall.model.framing import frame as frame
from joinstall.model.pickled import pickled_length as pickled_length
from joinstall.model.slots import PAGE_SIZE as PAGE_SIZE
from joinstall.model.slots import simulate


def fits(python: str, size: int, capacity: int, puts: int = 1, page_size: int = PAGE_SIZE) -> bool:
    """Whether a payload of ``size`` bytes, sent as ``puts`` messages, fits without a reader."""
    sizes = chunk_sizes(size, puts)
    # The chunks take at most two sizes: frame each once, not once per message.
    framed = {n: frame(pickled_length(python, n)) for n in set(sizes)}
    return simulate((w for n in sizes for w in framed[n]), capacity, page_size).fits


def predict_threshold(python: str, capacity: int, puts: int = 1, page_size: int = PAGE_SIZE) -> int:
    """The largest payload (bytes, split into ``puts`` messages) whose writes all fit.

    Found by bisection for the first size that blocks, minus one. Returns -1 when even an empty
    payload blocks (``puts`` empty messages already need more slots than the pipe has).
    """
    if puts < 1:
        raise ValueError("puts must be 1 or more")
    # Every payload byte needs a byte in the pipe, so `capacity` bytes can never fit.
    lo, hi = -1, capacity
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(python, mid, capacity, puts, page_size):
            lo = mid
        else:
            hi = mid
    return lo


def predict_puts(python: str, message_size: int, capacity: int, page_size: int = PAGE_SIZE) -> int:
    """The number of puts of ``message_size`` bytes each at which the child stalls (smallest K)."""
    per_message = frame(pickled_length(python, message_size))

    def stream() -> Iterator[int]:
        while True:
            yield from per_message

    outcome = simulate(stream(), capacity, page_size)
    # The stream is endless and each write takes at least one byte, so it always blocks.
    assert outcome.blocked_at is not None
    return outcome.blocked_at // len(per_message) + 1
