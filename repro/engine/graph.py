"""The wait-for graph's verdict: which threads are stuck for good, and the cycle that holds them.

Every edge is an OR: a thread waits until *any* of its wakers acts. So a thread is provably
stuck only when every one of its wakers is provably stuck too. The stuck set is the greatest
such set: start from every thread in a blocking wait, and keep releasing any thread that has a
live waker (running, sleeping, outside, or itself released) until nothing changes. What is left
is closed: no thread outside it can wake a thread inside it. That is the standard of a proof:
"every thread that could break the cycle waits on the cycle".

A timed wait (``join(10)``) is stuck only until its timeout: the set is computed twice, once
with timed waits as stuck and once with them live. If only the first is non-empty, the program
is stuck until the earliest of those timeouts, no longer. Pure functions only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping

from joinstall.engine.waits import Kind, Tid, Wait


@dataclasses.dataclass(frozen=True)
class Knot:
    """The result of the analysis of one snapshot (or of two samples together)."""

    waits: Mapping[Tid, Wait]
    #: Threads stuck at least until a timeout (timed waits counted as stuck).
    stuck: frozenset[Tid]
    #: Threads stuck for good (timed waits counted as live); empty for a timed hang.
    forever: frozenset[Tid]
    #: The cycle to tell: each thread waits for the next, the last for the first.
    cycle: tuple[Tid, ...]
    #: Bystanders left out of the analysis (a watcher's own threads, a test runner's).
    ignore: frozenset[Tid] = frozenset()

    @property
    def timed(self) -> bool:
        return bool(self.stuck) and not self.forever

    @property
    def release(self) -> float | None:
        """Seconds until the earliest timed wait of a timed hang ends (an upper bound)."""
        times = [w.timeout for t, w in self.waits.items() if t in self.stuck and w.timeout is not None]
        return min(times) if self.timed and times else None

    @property
    def through_pipe(self) -> bool:
        return any(self.waits[t].full for t in self.cycle)

    def behind(self) -> list[Tid]:
        """Stuck threads that are not on the cycle: they wait for it."""
        return sorted(self.stuck - set(self.cycle))


def stuck(
    waits: Mapping[Tid, Wait], *, live: Collection[Tid] = (), ignore: Collection[Tid] = (), timed: bool = True
) -> frozenset[Tid]:
    """The greatest set of threads whose every waker is in the set (see the module docstring).

    ``live``: threads to count as live whatever they show (they moved between two samples);
    ``ignore``: bystanders that can wake nobody (a watcher's own thread); ``timed``: whether a
    timed wait counts as stuck.
    """
    left = {
        t
        for t, w in waits.items()
        if w.blocking and not w.outside and t not in live and t not in ignore and (timed or w.timeout is None)
    }
    gone = {t for t, w in waits.items() if w.kind is Kind.GONE}
    changed = True
    while changed:
        changed = False
        for t in list(left):
            if any(k not in left and k not in ignore and k not in gone for k in waits[t].wakers):
                left.discard(t)
                changed = True
    return frozenset(left)


def _order(waits: Mapping[Tid, Wait], me: Tid, wakers: Collection[Tid], start: Tid) -> list[Tid]:
    """Wakers in the order a person would tell the story, closing the cycle as soon as it can.

    A process exits when its main thread ends: an exit wait goes to the main thread first. A
    lock or a join inside one process goes to the other threads before the main thread (a main
    thread joining its workers is rarely what holds a lock). Any other wait goes back to the
    start if it can, else to other processes, main threads first.
    """
    kind = waits[me].kind
    if kind is Kind.EXIT:
        return sorted(wakers, key=lambda k: (k[0] != k[1], k != start, k))
    if kind is Kind.FUTEX:
        return sorted(wakers, key=lambda k: (k != start, k[0] == k[1], k))
    return sorted(wakers, key=lambda k: (k != start, k[0] == me[0], k[0] != k[1], k))


def cycle(waits: Mapping[Tid, Wait], inside: frozenset[Tid]) -> tuple[Tid, ...]:
    """A cycle of waits within ``inside``, through a blocked pipe writer when there is one."""
    # A full writer first (the pipe nobody reads); then any wait but a lock or a join: an idle
    # helper thread (a queue's feeder waiting for work) is on the cycle only through its process.
    starts = sorted(inside, key=lambda t: (not waits[t].full, waits[t].kind is Kind.FUTEX, t[0] == t[1], t))
    for start in starts:
        if not waits[start].wakers:
            return (start,)
        path = _path_back(waits, inside, start)
        if path:
            return _from_chain_end(waits, path)
    return ()


def _from_chain_end(waits: Mapping[Tid, Wait], ring: tuple[Tid, ...]) -> tuple[Tid, ...]:
    """Rotate the cycle to start at the last of a chain of blocked writers (``cat | head``).

    That writer's pipe is the one the waiting program should have read; the writers before it
    are only stuck behind it. A cycle of writers alone (writer-writer) stays as it is.
    """
    n = len(ring)
    for i, t in enumerate(ring):
        if waits[t].full and not waits[ring[(i + 1) % n]].full:
            return ring[i:] + ring[:i]
    return ring


def _path_back(waits: Mapping[Tid, Wait], inside: frozenset[Tid], start: Tid) -> tuple[Tid, ...]:
    """Depth first from ``start`` along preferred wakers, until a waker is ``start`` again."""
    seen = {start}
    stack: list[tuple[Tid, list[Tid]]] = [(start, _order(waits, start, waits[start].wakers & inside, start))]
    while stack:
        _, todo = stack[-1]
        if not todo:
            stack.pop()
            continue
        nxt = todo.pop(0)
        if nxt == start:
            return tuple(n for n, _ in stack)
        if nxt in seen:
            continue
        seen.add(nxt)
        stack.append((nxt, _order(waits, nxt, waits[nxt].wakers & inside, start)))
    return ()


def analyse(waits: Mapping[Tid, Wait], *, live: Collection[Tid] = (), ignore: Collection[Tid] = ()) -> Knot:
    """The stuck sets and the cycle to tell, from every thread's wait."""
    held = stuck(waits, live=live, ignore=ignore)
    forever = stuck(waits, live=live, ignore=ignore, timed=False)
    return Knot(waits, held, forever, cycle(waits, forever or held), frozenset(ignore))
