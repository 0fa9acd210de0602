"""The verdict as a pure function of snapshots: real recordings, and the cases they cannot show.

The recordings (``tests/fixtures/snapshots``, made by ``record.py`` there) are consecutive real
samples of programs from ``tests/engine_corpus``. A pair of samples with nothing moved proves a
hang only for the hung programs; the live ones must never come out proven from any pair.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import signal
from pathlib import Path
from typing import Any

import pytest
from joinstall.engine import graph, syscalls, waits, words
from joinstall.engine.diagnosis import Diagnosis, Verdict
from joinstall.engine.snapshot import Fd, Process, Snapshot, Thread
from joinstall.engine.waits import Kind
from joinstall.engine.watcher import moved

FIXTURES = Path(__file__).parent.parent / "fixtures" / "snapshots"
HUNG = {
    "pipe_recv_join_fork": Verdict.DEADLOCKED,
    "tcp_recv_join_fork": Verdict.DEADLOCKED,
    "asyncio_proc_wait": Verdict.STALLED,
    "asyncio_future_nobody": Verdict.DEADLOCKED,
    "pool_worker_killed_fork": Verdict.DEADLOCKED,
    "pool_lock_lost_fork": Verdict.DEADLOCKED,
    "seed_join_fork": Verdict.STALLED,
    "seed_join_timeout_spawn": Verdict.STALLED,
    "thread_pipe": Verdict.STALLED,
    "writer_writer": Verdict.STALLED,
    "pool_queue_fork": Verdict.STALLED,
    "lock_order": Verdict.DEADLOCKED,
}
LIVE = [
    "sleepy_reader_fork",
    "drain_thread_forkserver",
    "busy_reader_fork",
    "pipe_late_send_fork",
    "asyncio_sleep",
    "tcp_outside_server",
]


def recording(name: str) -> tuple[int, list[Snapshot]]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data["root"], [Snapshot.from_dict(s) for s in data["snapshots"]]


def verdict_of(root: int, before: Snapshot, after: Snapshot) -> Diagnosis:
    """What the watcher concludes from two consecutive samples (less the outside scan)."""
    knot = graph.analyse(waits.waits(after), live=moved(before, after))
    return words.describe(after, knot, root, proven=bool(knot.stuck), samples=2, seconds=0.02)


@pytest.mark.parametrize("name", sorted(HUNG))
def test_a_recorded_hang_is_proven_from_any_two_samples(name: str) -> None:
    root, snaps = recording(name)
    for before, after in itertools.pairwise(snaps):
        d = verdict_of(root, before, after)
        assert d.verdict is HUNG[name], d.text()
        assert d.cycle and d.fix and root in d.stuck_pids


@pytest.mark.parametrize("name", LIVE)
def test_a_recorded_live_program_is_never_proven(name: str) -> None:
    root, snaps = recording(name)
    for before, after in itertools.pairwise(snaps):
        d = verdict_of(root, before, after)
        assert not d.proven, d.text()
        assert d.verdict in (Verdict.BLOCKED, Verdict.RUNNING), d.text()
        if d.verdict is Verdict.BLOCKED:
            assert "so it can still act" in d.breaker or "outside the tree can end" in d.breaker


def test_the_seed_is_told_as_a_person_would_tell_it() -> None:
    root, snaps = recording("seed_join_fork")
    d = verdict_of(root, snaps[0], snaps[1])
    first, second, third = d.cycle
    assert [t[0] for t in d.cycle_threads][1] == root and len(d.cycle_threads) == 3
    assert "is blocked writing 1,000,009 bytes into pipe:" in first
    assert f"the main thread of parent {root} waits in wait4(" in second
    assert "waits on a lock or a thread join" in third
    assert d.until is None and "for ever" in d.summary
    assert d.fix == words.FIX_QUEUE
    assert d.full_pipe is not None and d.full_pipe.capacity == 65536


def test_a_join_with_a_timeout_is_stuck_until_that_timeout() -> None:
    root, snaps = recording("seed_join_timeout_spawn")
    d = verdict_of(root, snaps[0], snaps[1])
    assert d.until is not None and 1.0 <= d.until <= 60
    assert "until its timeout ends" in d.summary


def test_fixes_follow_the_family() -> None:
    expected = {
        "thread_pipe": words.FIX_THREAD,
        "writer_writer": words.FIX_BOTH_WAYS,
        "lock_order": words.FIX_LOCKS,
    }
    for name, fix in expected.items():
        root, snaps = recording(name)
        assert verdict_of(root, snaps[0], snaps[1]).fix == fix, name


def test_a_thread_that_moved_between_samples_reopens_the_cycle() -> None:
    """The non-atomic snapshot: the second sample shows the same waits, but a counter moved."""
    root, snaps = recording("seed_join_fork")
    before, after = snaps[0], snaps[1]
    parent = after.proc(root)
    assert parent is not None
    woke = dataclasses.replace(parent.threads[0], switches=parent.threads[0].switches + 1)
    changed = dataclasses.replace(parent, threads=(woke, *parent.threads[1:]))
    after = dataclasses.replace(after, procs=tuple(changed if p.pid == root else p for p in after.procs))
    d = verdict_of(root, before, after)
    assert not d.proven and d.verdict is Verdict.BLOCKED


def test_every_recorded_diagnosis_round_trips_through_json() -> None:
    for name in [*HUNG, *LIVE]:
        root, snaps = recording(name)
        d = verdict_of(root, snaps[0], snaps[1])
        back = Diagnosis.from_dict(json.loads(json.dumps(d.to_dict())))
        assert back == d
        assert all(len(line) <= 100 for line in d.text().splitlines())


# --- hand-built snapshots: the cases recordings cannot show -------------------------------------


def thread(tid: int, call: int, args: tuple[int, ...] = (), state: str = "S", **kw: Any) -> Thread:
    return Thread(tid, "python", state, call, args, "", 1, 1, **kw)


def proc(
    pid: int, ppid: int, threads: tuple[Thread, ...], fds: tuple[Fd, ...] = (), cmd: str = "python"
) -> Process:
    return Process(pid, ppid, "python", (cmd,), threads, fds)


def pipe_end(fd: int, inode: int, write: bool) -> Fd:
    return Fd(fd, "pipe", inode, not write, write)


def one(snap: Snapshot) -> graph.Knot:
    return graph.analyse(waits.waits(snap))


WRITE, READ, WAIT4, FUTEX, POLL, SLEEP = 1, 0, 61, 202, 7, 230


def test_a_writer_whose_reader_sleeps_is_not_stuck() -> None:
    snap = Snapshot(0.0, (
        proc(10, 1, (thread(10, SLEEP),), (pipe_end(3, 99, False),)),
        proc(11, 10, (thread(11, WRITE, (4, 0, 70000)),), (pipe_end(4, 99, True),)),
    ), ())  # fmt: skip
    knot = one(snap)
    assert not knot.stuck
    assert waits.waits(snap)[(11, 11)].kind is Kind.PIPE_WRITE


def test_a_pipe_end_nobody_in_sight_holds_is_held_outside() -> None:
    # Blocked with no reader at all is impossible (write would fail with EPIPE): the read end is
    # in flight in a unix socket or in a process we cannot see. Never a proof.
    snap = Snapshot(0.0, (proc(11, 10, (thread(11, WRITE, (4, 0, 70000)),), (pipe_end(4, 99, True),)),), ())
    assert waits.waits(snap)[(11, 11)].outside
    assert not one(snap).stuck


def test_a_read_of_a_pipe_only_the_reader_can_write_is_deadlocked() -> None:
    # get() after join: the queue's write end is the reader's own, and no other thread exists.
    snap = Snapshot(
        0.0,
        (proc(10, 1, (thread(10, READ, (3, 0, 4)),), (pipe_end(3, 99, False), pipe_end(4, 99, True))),),
        (),
    )
    assert one(snap).stuck == {(10, 10)}


def test_a_wait_for_a_child_nobody_can_see_and_a_futex_in_an_unknown_mapping_are_outside() -> None:
    snap = Snapshot(0.0, (
        proc(10, 1, (thread(10, WAIT4, (2**32 - 1,)), thread(11, FUTEX, (0, 0x9, 0, 0), shared="?"))),
    ), ())  # fmt: skip
    w = waits.waits(snap)
    assert w[(10, 10)].outside and w[(10, 11)].outside
    assert not one(snap).stuck


def test_a_short_timed_wait_is_a_polling_loop_and_a_timed_wait_with_no_waker_a_sleep() -> None:
    short = thread(10, POLL, (0, 1, 500), fds=((3, 1),), timeout=0.5)
    lonely = thread(20, FUTEX, (0, 0x89, 0, 1), timeout=30.0)
    snap = Snapshot(0.0, (
        proc(10, 1, (short,), (pipe_end(3, 98, False),)),
        proc(11, 10, (thread(11, WRITE, (4, 0, 70000)),), (pipe_end(4, 98, True), pipe_end(5, 99, False))),
        proc(20, 1, (lonely,)),
    ), ())  # fmt: skip
    w = waits.waits(snap)
    assert w[(10, 10)].kind is Kind.LIVE and w[(20, 20)].kind is Kind.LIVE


def test_a_long_timed_join_holds_the_cycle_until_it_ends() -> None:
    join = thread(10, POLL, (0, 1, 10_000), fds=((3, 1),), timeout=10.0)
    snap = Snapshot(0.0, (
        proc(10, 1, (join,), (pipe_end(3, 98, False), pipe_end(6, 99, False))),
        proc(11, 10, (thread(11, FUTEX, (0, 0x89, 0, 0)), thread(12, WRITE, (5, 0, 70000))),
             (pipe_end(4, 98, True), pipe_end(5, 99, True))),
    ), ())  # fmt: skip
    knot = one(snap)
    assert knot.stuck == {(10, 10), (11, 11), (11, 12)} and not knot.forever
    assert knot.release == 10.0 and knot.through_pipe


def test_a_drain_thread_paced_by_a_timed_event_is_live_beside_a_join() -> None:
    # `while not stop.wait(2): q.get()` beside `p.join()`: the main thread could set the event,
    # but the wait's timeout is the drain's step, after which it reads. Never a proof.
    paced = thread(13, FUTEX, (0, 0x89, 0, 1), timeout=2.0)
    snap = Snapshot(0.0, (
        proc(10, 1, (thread(10, WAIT4, (11,)), paced), (pipe_end(3, 99, False),)),
        proc(11, 10, (thread(11, FUTEX, (0, 0x89, 0, 0)), thread(12, WRITE, (4, 0, 70000))), (pipe_end(4, 99, True),)),
    ), ())  # fmt: skip
    w = waits.waits(snap)
    assert w[(10, 13)].kind is Kind.LIVE
    assert not graph.analyse(w).stuck
    # The same thread waiting on the event for ever would close the cycle.
    forever = dataclasses.replace(paced, timeout=None)
    snap = dataclasses.replace(
        snap,
        procs=(
            dataclasses.replace(snap.procs[0], threads=(snap.procs[0].threads[0], forever)),
            snap.procs[1],
        ),
    )
    assert graph.analyse(waits.waits(snap)).forever == {(10, 10), (10, 13), (11, 11), (11, 12)}


def test_a_timed_poll_of_a_pipe_of_its_own_is_a_pace_but_of_a_childs_sentinel_a_join() -> None:
    # The drain thread waits up to 2 s on a control queue its own process writes (pipe 98),
    # then reads the data pipe (99): live. Polling a child's sentinel (97) instead is join(2).
    def snap_with(poll: Thread, fds: tuple[Fd, ...]) -> Snapshot:
        return Snapshot(0.0, (
            proc(10, 1, (thread(10, WAIT4, (11,)), poll), (pipe_end(3, 99, False), *fds)),
            proc(11, 10, (thread(11, FUTEX, (0, 0x89, 0, 0)), thread(12, WRITE, (4, 0, 70000))),
                 (pipe_end(4, 99, True), pipe_end(6, 97, True))),
        ), ())  # fmt: skip

    paced = thread(13, POLL, (0, 1, 2000), fds=((5, 1),), timeout=2.0)
    own = snap_with(paced, (pipe_end(5, 98, False), pipe_end(7, 98, True)))
    assert waits.waits(own)[(10, 13)].kind is Kind.LIVE and not one(own).stuck
    join = snap_with(paced, (pipe_end(5, 97, False),))
    assert waits.waits(join)[(10, 13)].kind is Kind.POLL
    assert one(join).stuck == {(10, 10), (10, 13), (11, 11), (11, 12)}


def _seed_stall(parent: Process) -> Snapshot:
    """The seed's knot: the parent in wait4, the child's feeder blocked writing the full pipe."""
    return Snapshot(0.0, (
        parent,
        proc(11, 10, (thread(11, FUTEX, (0, 0x89, 0, 0)), thread(12, WRITE, (4, 0, 70000))), (pipe_end(4, 99, True),)),
    ), ())  # fmt: skip


def _parent(caught: int = 0, timers: tuple[int, ...] = ()) -> Process:
    return dataclasses.replace(
        proc(10, 1, (thread(10, WAIT4, (11,)),), (pipe_end(3, 99, False),)),
        caught=caught,
        timer_signals=timers,
    )


def _mask(*sigs: int) -> int:
    return sum(1 << (s - 1) for s in sigs)


def test_a_handled_alarm_keeps_the_cycle_open_unless_the_caller_knows_it() -> None:
    # An armed alarm cannot be seen from outside: its handler may read the queue.
    alarmed = _seed_stall(_parent(_mask(signal.SIGALRM, signal.SIGINT)))
    assert waits.waits(alarmed)[(10, 10)].outside and not one(alarmed).stuck
    known = waits.waits(alarmed, known_signals=frozenset({signal.SIGALRM}))
    assert graph.analyse(known).forever == {(10, 10), (11, 11), (11, 12)}
    # SIGINT (every Python process handles it), a crash handler's faults, a terminal's resize and
    # glibc's own signals of a threaded process count for nothing, even beside a live process.
    plain = _seed_stall(
        _parent(_mask(signal.SIGINT, signal.SIGSEGV, signal.SIGABRT, signal.SIGWINCH, 32, 33))
    )
    beside = dataclasses.replace(plain, procs=(*plain.procs, proc(13, 10, (thread(13, SLEEP),))))
    assert one(beside).forever == {(10, 10), (11, 11), (11, 12)}


def test_a_posix_timer_signal_is_an_alarm_too() -> None:
    timed = _seed_stall(_parent(_mask(signal.SIGUSR2), timers=(signal.SIGUSR2,)))
    assert waits.waits(timed)[(10, 10)].outside and not one(timed).stuck


def test_another_handled_signal_waits_for_the_trees_processes_that_may_send_it() -> None:
    handled = _parent(_mask(signal.SIGUSR1))
    stuck = _seed_stall(handled)
    assert one(stuck).forever == {(10, 10), (11, 11), (11, 12)}  # nobody left to send it
    helper = proc(13, 10, (thread(13, SLEEP),))  # `sleep 3; kill -USR1 $parent`
    live = dataclasses.replace(stuck, procs=(*stuck.procs, helper))
    assert (13, 13) in waits.waits(live)[(10, 10)].wakers and not one(live).stuck
    # A forkserver or a resource tracker never sends one.
    server = proc(13, 10, (thread(13, SLEEP),), cmd="from multiprocessing.forkserver import main")
    served = dataclasses.replace(stuck, procs=(*stuck.procs, server))
    assert one(served).forever == {(10, 10), (11, 11), (11, 12)}


def test_a_named_semaphore_may_be_posted_by_a_process_that_has_not_opened_it_yet() -> None:
    # spawn: the parent waits on ready.wait() while the child still imports, semaphore unmapped.
    wait = thread(10, FUTEX, (0, 0x9, 0, 0), shared="00:1b:77")
    child = proc(11, 10, (thread(11, SLEEP),))
    parent = dataclasses.replace(proc(10, 1, (wait,)), shared_maps=("00:1b:77",))
    unlinked = Snapshot(0.0, (parent, child), ())
    assert one(unlinked).forever == {(10, 10)}  # fork: unlinked, only a mapper could post it
    named = Snapshot(
        0.0, (dataclasses.replace(parent, threads=(dataclasses.replace(wait, named=True),)), child), ()
    )
    assert (11, 11) in waits.waits(named)[(10, 10)].wakers and not one(named).stuck


def test_a_bystander_thread_is_ignored_but_a_live_sibling_is_not() -> None:
    snap = Snapshot(0.0, (
        proc(10, 1, (thread(10, WAIT4, (11,)), thread(13, SLEEP)), (pipe_end(3, 99, False),)),
        proc(11, 10, (thread(11, FUTEX, (0, 0x89, 0, 0)), thread(12, WRITE, (4, 0, 70000))), (pipe_end(4, 99, True),)),
    ), ())  # fmt: skip
    w = waits.waits(snap)
    assert not graph.analyse(w).stuck
    assert graph.analyse(w, ignore={(10, 13)}).stuck == {(10, 10), (11, 11), (11, 12)}


def test_a_forkserver_writes_a_sentinel_for_its_children() -> None:
    server = proc(12, 10, (thread(12, POLL, (0, 2, 2**32 - 1), fds=((7, 1),)),), (pipe_end(9, 98, True),),
                  cmd="from multiprocessing.forkserver import main")  # fmt: skip
    snap = Snapshot(0.0, (
        proc(10, 1, (thread(10, POLL, (0, 1, 2**32 - 1), fds=((3, 1),)),), (pipe_end(3, 98, False), pipe_end(6, 99, False))),
        server,
        proc(11, 12, (thread(11, FUTEX, (0, 0x89, 0, 0)), thread(13, WRITE, (5, 0, 70000))), (pipe_end(5, 99, True),)),
    ), ())  # fmt: skip
    w = waits.waits(snap)
    assert w[(10, 10)].wakers == {(11, 11), (11, 13)}
    assert graph.analyse(w).stuck == {(10, 10), (11, 11), (11, 13)}


def test_a_read_of_a_new_childs_pid_from_the_forkserver_waits_for_the_forkserver() -> None:
    """At start(), the parent reads the child's pid that the (live) forkserver is about to write."""
    server = proc(12, 10, (thread(12, POLL, (0, 2, 2**32 - 1), fds=((7, 1),)),), (pipe_end(9, 98, True),),
                  cmd="from multiprocessing.forkserver import main")  # fmt: skip
    snap = Snapshot(0.0, (proc(10, 1, (thread(10, READ, (3, 0, 4)),), (pipe_end(3, 98, False),)), server), ())
    w = waits.waits(snap)
    assert w[(10, 10)].wakers == {(12, 12)}
    assert not graph.analyse(w).stuck


def test_an_event_nobody_can_set_is_deadlocked_alone() -> None:
    snap = Snapshot(0.0, (proc(10, 1, (thread(10, FUTEX, (0, 0x89, 0, 0)),)),), ())
    knot = one(snap)
    assert knot.cycle == ((10, 10),)
    d = words.describe(snap, knot, 10, proven=True, samples=2, seconds=0.0)
    assert d.verdict is Verdict.DEADLOCKED and d.fix == words.FIX_NOBODY


def test_a_wait_on_a_socket_is_blocked_on_the_outside_not_running() -> None:
    sock = Fd(3, "socket", 77, True, True)
    snap = Snapshot(0.0, (proc(10, 1, (thread(10, 45, (3, 0, 100)),), (sock,)),), ())
    d = words.describe(snap, one(snap), 10, proven=False, samples=2, seconds=0.0)
    assert d.verdict is Verdict.BLOCKED and "outside" in d.breaker


def test_running_and_zombie_threads() -> None:
    snap = Snapshot(0.0, (proc(10, 1, (thread(10, -1, state="R"), thread(11, None, state="Z"))),), ())
    knot = one(snap)
    d = words.describe(snap, knot, 10, proven=False, samples=1, seconds=0.0)
    assert d.verdict is Verdict.RUNNING


def test_a_wait_resumed_after_a_ptrace_stop_is_read_as_the_call_it_resumes() -> None:
    restart = syscalls.NUMBERS["restart_syscall"]
    assert syscalls.resumed(restart, "poll_schedule_timeout.constprop.0") == syscalls.NUMBERS["poll"]
    assert syscalls.resumed(restart, "futex_do_wait") == syscalls.NUMBERS["futex"]
    assert syscalls.resumed(restart, "do_something_else") == restart
    assert syscalls.resumed(syscalls.NUMBERS["write"], "poll") == syscalls.NUMBERS["write"]


def test_no_recorded_diagnosis_has_a_phrase_a_reader_stumbles_on() -> None:
    from tests.wording import stumbles

    for name in [*HUNG, *LIVE]:
        root, snaps = recording(name)
        for before, after in itertools.pairwise(snaps):
            text = verdict_of(root, before, after).text()
            assert not stumbles(text), (name, stumbles(text), text)
    assert stumbles("the main thread waits on in read; only nobody could") == [
        "waits on in ",
        "only nobody",
        "nobody could",
    ]
    assert stumbles("it is is stuck") == ["is is"]


def test_a_bystander_is_never_named_as_what_can_end_a_wait() -> None:
    # The main thread joins a thread that waits on a socket; an ignored runner thread (xdist's
    # IO thread) sleeps on a socket of its own: only the watched thread may be named.
    sock = Fd(5, "socket", 77, True, True)
    main = thread(10, FUTEX, (0, 0x89, 0, 0))
    waiter = thread(11, 45, (5, 0, 100))
    runner = thread(12, 45, (5, 0, 100))
    snap = Snapshot(0.0, (proc(10, 1, (main, waiter, runner), (sock,)),), ())
    knot = graph.analyse(waits.waits(snap), ignore={(10, 12)})
    d = words.describe(snap, knot, 10, proven=False, samples=2, seconds=0.0)
    assert "thread 11 " in d.breaker and "thread 12 " not in d.breaker, d.breaker


def test_a_timeout_that_cannot_be_read_is_a_short_wait_never_one_for_ever() -> None:
    from joinstall.engine import snapshot

    assert snapshot._given(0x7FFE0000, None) == 0.0  # a pointer we could not read: live
    assert snapshot._given(0, None) is None  # NULL: no timeout at all
    assert snapshot._given(0x7FFE0000, 2.5) == 2.5
