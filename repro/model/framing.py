"""How ``multiprocessing.connection`` cuts one message into ``write()`` calls.

``Connection._send_bytes`` sends a 4-byte big-endian length header and the body. Pure: no
process, no pipe.
"""

from __future__ import annotations

#: Python 3 sends a message of up to this many bytes as one write (header + body).
SPLIT_AT = 16384
#: Python 2.7's C connection sends one write only below 16 KiB (``n < 16*1024``).
PY27_SPLIT_AT = 16383
#: Above this a message gets a 4-byte -1 marker and an 8-byte length (Python 3.8+).
LARGE_MESSAGE = 0x7FFFFFFF
HEADER = 4


def frame(n: int, split_at: int = SPLIT_AT) -> tuple[int, ...]:
    """The ``write()`` sizes ``Connection._send_bytes`` issues for one message of ``n`` bytes.

    Small messages are concatenated with their header (CPython issue 20540: avoid Nagle delays
    on sockets); larger ones go as header, then body, to avoid copying the body.
    """
    if n < 0:
        raise ValueError("a message cannot have a negative length")
    if n > LARGE_MESSAGE:
        return (HEADER, 8, n)
    if n > split_at:
        return (HEADER, n)
    return (HEADER + n,)


def chunk_sizes(size: int, puts: int) -> list[int]:
    """Message payload sizes when ``size`` bytes are split as the program's ``split()`` does."""
    if puts < 1:
        raise ValueError("puts must be 1 or more")
    step, extra = divmod(size, puts)
    return [step + (1 if i < extra else 0) for i in range(puts)]
