"""The pickled length of a ``bytes`` payload, asked of the *target* interpreter.

Its pickle protocol and opcodes decide the length, not ours. This is the only part of the pipe
model that starts a process: the target interpreter, once per interpreter and protocol (none
when the target is the interpreter running joinstall).
"""

from __future__ import annotations

import bisect
import functools
import inspect
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence

from joinstall.errors import UsageError

#: Up to here the pickled-length table is built from the interpreter's own answers; above it
#: each size is asked directly (a payload that large is rare, and exactness beats a guess).
TABLE_MAX = 1 << 24
QUERY_TIMEOUT = 60.0


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
