"""The registry of program variants: what each changes and what it is expected to do.

The program (``programs/seed.py``) implements them; this registry explains them and says what
a run should conclude, so that tests and reports can compare measurement with expectation.
"""

from __future__ import annotations

import dataclasses
import enum

from joinstall.observe.verdict import Verdict
from joinstall.programs import seed


class Kind(str, enum.Enum):
    BUG = "bug"
    FIX = "fix"
    FALSE_FIX = "false fix"
    MITIGATION = "mitigation"
    SIBLING = "sibling"


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    kind: Kind
    changes: str
    explanation: str
    #: Capacity of the pipe the payload goes through (None: no such pipe, it cannot fill).
    pipe_bytes: int | None = 64 * 1024
    #: Options that make no sense for this variant, with the reason a user is told.
    not_for: tuple[tuple[str, str], ...] = ()
    #: Where the parent waits, bounded by the timeout T, while a stall lasts.
    parent_waits: str = "join"

    def expected(self, size: int, stall_above: int | None) -> frozenset[Verdict]:
        """The verdicts a correct run may reach for a payload of ``size`` bytes.

        ``stall_above`` is the largest payload that does not stall at this pipe capacity
        (measured or predicted by the caller); None means the variant cannot stall.
        """
        fills = stall_above is not None and size > stall_above
        if self.kind is Kind.FIX:
            return frozenset({Verdict.OK})
        if self.kind is Kind.FALSE_FIX:
            # Whether a small message escapes before the child exits is a race: both happen.
            return frozenset({Verdict.DATA_LOSS} if fills else {Verdict.DATA_LOSS, Verdict.OK})
        return frozenset({Verdict.STALLED} if fills else {Verdict.OK})


FIX_ADVICE = "drain the queue before joining: call q.get() for every message, then p.join()"
SUBPROCESS_ADVICE = (
    "read the subprocess's output before waiting for it: use proc.communicate() instead of proc.wait()"
)


def advice(writer_is_subprocess: bool) -> str:
    """The fix for a stall, by where the blocked writer is: a queue feeder, or a subprocess."""
    return SUBPROCESS_ADVICE if writer_is_subprocess else FIX_ADVICE


REGISTRY: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "buggy", Kind.BUG, "join(T) before get() (the original program)",
            "The child's queue feeder thread writes the pickled payload into a pipe. Once it no"
            " longer fits, write() blocks until somebody reads. The child waits at exit for its"
            " feeder, and the parent waits in join() for the child before it reads: join"
            " returns only at its timeout, with the child still alive.",
        ),
        Variant(
            "fixed", Kind.FIX, "get() before join(T)",
            "The parent reads the queue first, so the pipe drains, the feeder finishes, and the"
            " child exits at once. This is the fix the multiprocessing docs ask for.",
        ),
        Variant(
            "pipe", Kind.FIX, "multiprocessing.Pipe, recv_bytes() before join(T)",
            "A Pipe has no feeder thread: the child's send blocks in its own main thread until"
            " the parent reads. Reading before joining makes it safe.", None,
        ),
        Variant(
            "manager", Kind.FIX, "Manager().Queue(): the queue lives in a server process",
            "put() is a call to the manager process over a socket and returns once the server"
            " holds the item. The child has no feeder thread to wait for, so join() returns"
            " even before the parent reads. The price is a third process and a copy.", None,
            (("--pipe-size", "its queue lives in the manager process, behind a socket"),),
        ),
        Variant(
            "simplequeue", Kind.BUG, "SimpleQueue: put() writes in the calling thread",
            "SimpleQueue has no feeder thread: put() itself blocks in write() in the child's"
            " main thread once the pipe is full. The child never reaches its exit, and join"
            " times out just the same; only the blocked thread differs.",
        ),
        Variant(
            "cancel_join_thread", Kind.FALSE_FIX, "the child calls q.cancel_join_thread()",
            "The child no longer waits for its feeder thread and exits at once, so join()"
            " returns. But whatever the feeder had not written is lost: the parent gets nothing"
            " or half a message. It looks fixed and silently drops data.",
        ),
        Variant(
            "executor", Kind.FIX, "concurrent.futures.ProcessPoolExecutor, future.result()",
            "The pool's management thread in the parent reads results as they come, so the"
            " worker's write always drains. result() is the get-before-join order built in.", None,
            (("--pipe-size", "the pool's result queue is its own"), ("--puts", "a task returns one result")),
        ),
        Variant(
            "bigpipe", Kind.MITIGATION, f"F_SETPIPE_SZ the queue pipe to {seed.BIGPIPE_SIZE:,} bytes",
            "A larger pipe moves the threshold up to the new capacity, byte for byte, but any"
            " payload above it stalls exactly as before. A mitigation, not a fix.",
            seed.BIGPIPE_SIZE,
            (("--pipe-size", f"it sets its own, {seed.BIGPIPE_SIZE:,} bytes"),),
        ),
        Variant(
            "popen_wait", Kind.SIBLING, "the child's subprocess: Popen(stdout=PIPE).wait() before reading",
            "The same deadlock one level down: the child waits for its shell pipeline to exit"
            " before it reads the pipeline's output, and `head` blocks writing into the full"
            " stdout pipe. communicate() is the fix there, as the subprocess docs warn. The"
            " parent reads first (get before join), so this is the only deadlock in play.",
            parent_waits="get",
        ),
    )
}  # fmt: skip

assert set(REGISTRY) == set(seed.VARIANTS), "the registry and the program must list the same variants"


def get(name: str) -> Variant:
    from joinstall.errors import UsageError

    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown variant {name!r}; choose one of: {', '.join(REGISTRY)}") from None
