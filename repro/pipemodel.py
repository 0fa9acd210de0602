"""Predict when a sequence of queue puts blocks, byte for byte, without running the program.

Three pieces, each checkable on its own:

* **pickled length** of a ``bytes`` payload, asked of the *target* interpreter (its pickle
  protocol and opcodes decide it, not ours);
* **framing**: how ``multiprocessing.connection`` cuts one message into ``write()`` calls;
* **the slot/merge rule** of Linux ``fs/pipe.c`` (``pipe_write``) for a pipe nobody reads:
  capacity is counted in page slots, not bytes, so many small writes can fill a pipe that
  holds far fewer bytes than its capacity.

Only ``pickled_length``/``pickled_lengths`` start a process (the target interpreter, once per
interpreter and protocol); everything else is pure.
"""

from __future__ import annotations

import bisect
import dataclasses
import fcntl
import functools
import inspect
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

from repro.errors import UsageError

#: POSIX atomicity bound; on Linux it equals the page size (4 KiB).
PIPE_BUF = 4096
PAGE_SIZE = 4096
#: Python 3 sends a message of up to this many bytes as one write (header + body).
SPLIT_AT = 16384
#: Python 2.7's C connection sends one write only below 16 KiB (``n < 16*1024``).
PY27_SPLIT_AT = 16383
#: Above this a message gets a 4-byte -1 marker and an 8-byte length (Python 3.8+).
LARGE_MESSAGE = 0x7FFFFFFF
HEADER = 4
F_SETPIPE_SZ = 1031
F_GETPIPE_SZ = 1032
#: Up to here the pickled-length table is built from the interpreter's own answers; above it
#: each size is asked directly (a payload that large is rare, and exactness beats a guess).
TABLE_MAX = 1 << 24
QUERY_TIMEOUT = 60.0


# --- framing -----------------------------------------------------------------------------


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


# --- the kernel's slot/merge rule ---------------------------------------------------------


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


# --- pickled length, asked of the target interpreter --------------------------------------


def _overhead_table(top: int, proto: int | None) -> list[list[int]]:
    """The overhead ``len(dumps(b'x'*n)) - n`` as a step function ``[[n0, overhead], ...]``.

    Runs in the TARGET interpreter (its source is sent there), so it keeps to syntax and
    modules every CPython 3.8+ has. Samples are dense where pickle's length fields change width
    (< 256; frames at 4 bytes and 64 KiB) and at every power of two; between two samples with
    different overheads it bisects for the exact size of the step.
    """
    from multiprocessing.reduction import ForkingPickler

    def over(n: int) -> int:
        return len(ForkingPickler.dumps(b"x" * n, proto)) - n

    pts = set(range(0, 1025))
    k = 10
    while (1 << k) <= top:
        span = 64 if k <= 17 else 2  # dense near the 64 KiB frame size, cheap for big payloads
        for d in range(-span, span + 1):
            pts.add((1 << k) + d)
        pts.add(3 << (k - 1))
        k += 1
    pts.add(top)
    steps: list[list[int]] = []
    prev_n, prev_o = 0, None
    for n in sorted(p for p in pts if 0 <= p <= top):
        o = over(n)
        if prev_o is None:
            steps.append([n, o])
        elif o != prev_o:
            lo, hi = prev_n, n
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if over(mid) == prev_o:
                    lo = mid
                else:
                    hi = mid
            steps.append([hi, over(hi)])
            if steps[-1][1] != o:
                steps.append([n, o])
        prev_n, prev_o = n, o
    return steps


def _exact_lengths(sizes: list[int], proto: int | None) -> list[int]:
    """``len(ForkingPickler.dumps(b'x'*n))`` for each size; runs in the target interpreter."""
    from multiprocessing.reduction import ForkingPickler

    return [len(ForkingPickler.dumps(b"x" * n, proto)) for n in sizes]


def _script(fn: Callable[..., object]) -> str:
    """A program that runs ``fn(*json args from argv[1])`` and prints its JSON result."""
    source = textwrap.dedent(inspect.getsource(fn))
    # The future import keeps annotations such as `int | None` unevaluated on Python 3.8.
    return (
        "from __future__ import annotations\nimport json, sys\n"
        f"{source}\nprint(json.dumps({fn.__name__}(*json.loads(sys.argv[1]))))\n"
    )


_lock = threading.Lock()


def _is_current(python: str) -> bool:
    return os.path.realpath(python) == os.path.realpath(sys.executable)


def _ask(python: str, fn: Callable[..., object], *args: object) -> object:
    """Run ``fn(*args)`` in ``python``: in this process when it is the same interpreter."""
    if _is_current(python):
        return fn(*args)
    try:
        done = subprocess.run(
            [python, "-c", _script(fn), json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=QUERY_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"interpreter {python} could not be asked for pickled lengths ({exc})") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(
            f"interpreter {python} could not pickle with multiprocessing's ForkingPickler ({last});"
            " the model needs CPython 3.8 or newer"
        )
    return json.loads(done.stdout)


@functools.lru_cache(maxsize=64)
def overhead_steps(python: str, protocol: int | None = None) -> tuple[tuple[int, int], ...]:
    """``((n, overhead), ...)``: from each ``n`` on, ``pickled = n + overhead`` (up to TABLE_MAX)."""
    raw = _ask(python, _overhead_table, TABLE_MAX, protocol)
    assert isinstance(raw, list)
    return tuple((int(n), int(o)) for n, o in raw)


@functools.lru_cache(maxsize=4096)
def _exact(python: str, n: int, protocol: int | None) -> int:
    return pickled_lengths(python, [n], protocol)[0]


def pickled_lengths(python: str, sizes: Sequence[int], protocol: int | None = None) -> list[int]:
    """Ask the interpreter directly, in one call, for ``len(ForkingPickler.dumps(b'x'*n))``."""
    raw = _ask(python, _exact_lengths, [int(n) for n in sizes], protocol)
    assert isinstance(raw, list)
    return [int(x) for x in raw]


def pickled_length(python: str, payload_size: int, protocol: int | None = None) -> int:
    """Bytes that ``ForkingPickler.dumps(b'x' * payload_size)`` produces under ``python``.

    ``protocol=None`` is what a ``multiprocessing.Queue`` uses: the interpreter's default.
    """
    if payload_size < 0:
        raise ValueError("a payload cannot have a negative size")
    if payload_size > TABLE_MAX:
        return _exact(python, payload_size, protocol)
    with _lock:  # one table query per interpreter, even when matrix threads ask together
        steps = overhead_steps(python, protocol)
    at = bisect.bisect_right([n for n, _ in steps], payload_size) - 1
    return payload_size + steps[at][1]


# --- predictions --------------------------------------------------------------------------


def writes_for(python: str, sizes: Iterable[int], split_at: int = SPLIT_AT) -> Iterator[int]:
    """The write() sizes of the queue feeder for messages whose payloads have ``sizes`` bytes."""
    for size in sizes:
        yield from frame(pickled_length(python, size), split_at)


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


def default_capacity() -> int:
    """What this kernel gives a new pipe (64 KiB unless pipe-user-pages-soft is exceeded)."""
    r, w = os.pipe()
    try:
        return int(fcntl.fcntl(w, F_GETPIPE_SZ))
    finally:
        os.close(r)
        os.close(w)


def page_size() -> int:
    return int(os.sysconf("SC_PAGE_SIZE"))
