"""Socket peers and event loops in the wait-for graph, on hand-built snapshots.

Each edge is checked both ways: the hang it proves, and the live twins it must leave open
(a listening socket, a peer outside the tree, data already queued, a timer in the loop).
"""

from __future__ import annotations

import dataclasses
import signal
from typing import Any

from joinstall.engine import graph, waits, words
from joinstall.engine.snapshot import Fd, Process, Snapshot, Thread
from joinstall.engine.sockets import Socket
from joinstall.engine.waits import Kind

READ, WRITE, WAIT4, FUTEX, EPOLL, RECVFROM, SENDTO = 0, 1, 61, 202, 232, 45, 44
IN, OUT = 0x1, 0x4


def thread(tid: int, call: int, args: tuple[int, ...] = (), **kw: Any) -> Thread:
    return Thread(tid, "python", "S", call, args, "", 1, 1, **kw)


def proc(
    pid: int, ppid: int, threads: tuple[Thread, ...], fds: tuple[Fd, ...] = (), caught: int = 0
) -> Process:
    return Process(pid, ppid, "python", ("python",), threads, fds, caught=caught)


def sock_fd(fd: int, inode: int) -> Fd:
    return Fd(fd, "socket", inode, True, True)


def unix(inode: int, peer: int, rqueue: int = 0, state: str = "established") -> Socket:
    return Socket(inode, "unix", "stream", state, peer, rqueue, 0, "", "", True)


def tcp(inode: int, peer: int, remote: str = "127.0.0.1:5000", loopback: bool = True) -> Socket:
    return Socket(inode, "tcp", "stream", "established", peer, 0, 0, "127.0.0.1:6000", remote, loopback)


def analyse(snap: Snapshot) -> graph.Knot:
    return graph.analyse(waits.waits(snap))


def said(snap: Snapshot, proven: bool = True) -> str:
    knot = analyse(snap)
    return words.describe(snap, knot, snap.procs[0].pid, proven=proven, samples=2, seconds=0.0).text()


def duplex(child_sockets: tuple[Socket, ...], *, parent_call: int = WAIT4) -> Snapshot:
    """A parent joins its child; the child waits in recv() on a socketpair both hold."""
    parent = proc(10, 1, (thread(10, parent_call, (20,)),), (sock_fd(3, 100), sock_fd(4, 101)))
    child = proc(20, 10, (thread(20, RECVFROM, (4, 0, 100)),), (sock_fd(3, 100), sock_fd(4, 101)))
    return Snapshot(0.0, (parent, child), (), child_sockets)


def test_a_recv_whose_peer_only_a_joining_parent_holds_is_deadlocked() -> None:
    snap = duplex((unix(100, 101), unix(101, 100)))
    knot = analyse(snap)
    assert knot.forever == {(10, 10), (20, 20)}
    assert knot.waits[(20, 20)].kind is Kind.SOCKET_READ
    text = said(snap)
    assert text.startswith("DEADLOCKED") and "with nothing queued" in text
    assert words.FIX_SOCKET_EMPTY.split(";")[0] in text


def test_a_recv_stays_open_when_data_is_queued_the_peer_is_unknown_or_not_local() -> None:
    for sockets in (
        (unix(100, 101), unix(101, 100, rqueue=5)),  # data waits: the read returns
        (unix(100, 101), unix(101, 0)),  # no peer known
        (),  # the socket is in no table
    ):
        assert not analyse(duplex(sockets)).stuck, sockets
    far = tcp(101, 0, remote="10.1.2.3:5432", loopback=False)
    snap = duplex((tcp(100, 0), far))
    assert not analyse(snap).stuck
    text = said(snap, proven=False)
    assert "TCP connection to 10.1.2.3:5432" in text and "outside the tree" in text


def test_a_listening_socket_is_outside_anyone_may_connect() -> None:
    listener = Socket(101, "tcp", "stream", "listen", 0, 0, 0, "127.0.0.1:5000", "", True)
    snap = duplex((listener,))
    assert not analyse(snap).stuck
    assert "listening" in said(snap, proven=False)


def test_a_send_into_a_full_buffer_waits_for_the_peers_readers() -> None:
    # Both ends of a socketpair; each side sends and nobody receives: a stall through sockets.
    a = proc(10, 1, (thread(10, SENDTO, (3, 0, 1_000_000)),), (sock_fd(3, 100),))
    b = proc(20, 10, (thread(20, SENDTO, (4, 0, 1_000_000)),), (sock_fd(4, 101),))
    full = Snapshot(0.0, (a, b), (), (unix(100, 101, rqueue=200_000), unix(101, 100, rqueue=200_000)))
    knot = analyse(full)
    assert knot.forever == {(10, 10), (20, 20)} and knot.through_pipe
    assert said(full).startswith("STALLED")
    # A blocked send whose peer has nothing queued is not a full buffer we can explain: open.
    empty = Snapshot(0.0, (a, b), (), (unix(100, 101), unix(101, 100)))
    assert not analyse(empty).stuck


def loop(
    fds: tuple[Fd, ...], sockets: tuple[Socket, ...], *, timeout: float | None = None, **kw: Any
) -> Snapshot:
    epoll = Fd(3, "epoll", 0, True, True)
    polled = tuple((f.fd, IN) for f in fds)
    th = thread(10, EPOLL, (3, 0, 128, 0xFFFFFFFF), fds=polled, timeout=timeout)
    return Snapshot(0.0, (proc(10, 1, (th,), (epoll, *fds), **kw),), (), sockets)


SELF_PIPE = (sock_fd(4, 200), sock_fd(5, 201))
SELF_SOCKETS = (unix(200, 201), unix(201, 200))


def test_an_event_loop_asleep_on_its_own_wake_up_socket_is_deadlocked_with_its_cause() -> None:
    # asyncio: the loop polls one end of its self-pipe (a socketpair); it holds the other end.
    snap = loop(SELF_PIPE[:1], SELF_SOCKETS)
    snap = Snapshot(
        0.0, (dataclasses.replace(snap.procs[0], fds=(*snap.procs[0].fds, SELF_PIPE[1])),), (), SELF_SOCKETS
    )
    knot = analyse(snap)
    assert knot.forever == {(10, 10)}
    text = said(snap)
    assert "its own wake-up socket" in text and "Cause: the event loop of" in text
    assert "asyncio.wait_for" in text


def test_an_event_loop_stays_live_with_a_timer_a_helper_thread_or_a_handled_signal() -> None:
    polled = (Fd(4, "socket", 200, True, True),)
    timed = loop(polled + SELF_PIPE[1:], SELF_SOCKETS, timeout=3.0)
    assert not analyse(timed).stuck  # asyncio.sleep(3): its own wake-up socket paces it
    timerfd = loop((Fd(6, "timerfd", 0, True, True),), ())
    assert not analyse(timerfd).stuck
    inotify = loop((Fd(6, "inotify", 0, True, True),), ())
    assert not analyse(inotify).stuck
    # A handled SIGUSR1 that a child may send keeps the loop open while the child lives.
    handled = loop(polled + SELF_PIPE[1:], SELF_SOCKETS, caught=1 << (signal.SIGUSR1 - 1))
    kid = proc(20, 10, (thread(20, 35),))  # asleep in nanosleep: live
    with_kid = Snapshot(0.0, (*handled.procs, kid), (), handled.sockets)
    assert not analyse(with_kid).stuck


def test_a_pidfd_in_the_loop_waits_for_its_process_to_exit() -> None:
    pidfd = Fd(6, "pidfd", 0, True, False, detail=20)
    parent = loop((pidfd,), ())
    stuck_child = proc(20, 10, (thread(20, FUTEX, (0, 0x89, 0, 0)),))
    snap = Snapshot(0.0, (*parent.procs, stuck_child), (), ())
    assert analyse(snap).forever == {(10, 10), (20, 20)}
    assert "the pidfd of process 20" in said(snap)
    gone = Snapshot(0.0, parent.procs, (), ())  # the process is not in sight: outside
    assert not analyse(gone).stuck


def test_an_eventfd_waits_for_its_holders_and_an_unknown_id_is_outside() -> None:
    ev = Fd(6, "eventfd", 0, True, True, detail=7)
    helper = thread(11, FUTEX, (0, 0x89, 0, 0))
    snap = loop((ev,), ())
    two = Snapshot(
        0.0,
        (Process(10, 1, "python", ("python",), (*snap.procs[0].threads, helper), snap.procs[0].fds),),
        (),
        (),
    )
    assert analyse(two).forever == {(10, 10), (10, 11)}
    unknown = loop((Fd(6, "eventfd", 0, True, True, detail=0),), ())
    assert not analyse(unknown).stuck


def test_a_stale_epoll_entry_or_a_signalfd_for_an_alarm_is_outside() -> None:
    stale = Snapshot(0.0, (proc(10, 1, (thread(10, EPOLL, (3, 0, 1, 0xFFFFFFFF), fds=((-1, IN),)),)),), ())
    assert not analyse(stale).stuck
    alarm = loop((Fd(6, "signalfd", 0, True, False, detail=1 << (signal.SIGALRM - 1)),), ())
    assert not analyse(alarm).stuck
    usr1 = loop((Fd(6, "signalfd", 0, True, False, detail=1 << (signal.SIGUSR1 - 1)),), ())
    assert analyse(usr1).forever == {(10, 10)}  # nobody in the tree is left to send it


def test_a_snapshot_with_sockets_round_trips_through_json() -> None:
    snap = duplex((unix(100, 101), unix(101, 100)))
    again = Snapshot.from_dict(snap.to_dict())
    assert again == snap
    assert analyse(again).forever == analyse(snap).forever


def test_the_words_of_every_case_here_read_without_stumbling() -> None:
    from tests.wording import stumbles

    cases = [
        duplex((unix(100, 101), unix(101, 100))),
        duplex((tcp(100, 0), tcp(101, 0, remote="10.1.2.3:5432", loopback=False))),
        loop((Fd(6, "timerfd", 0, True, True),), ()),
        loop((Fd(6, "signalfd", 0, True, False, detail=1 << (signal.SIGUSR1 - 1)),), ()),
    ]
    for snap in cases:
        for proven in (True, False):
            text = said(snap, proven=proven)
            assert not stumbles(text), (stumbles(text), text)
