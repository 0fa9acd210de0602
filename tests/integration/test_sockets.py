"""The socket table of real sockets in this very process: the kernel's own answers."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import multiprocessing
import os
import socket
import struct
import termios
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from joinstall.engine import sockets
from joinstall.engine.sockets import Socket

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]


@pytest.fixture(scope="module", autouse=True)
def _netlink() -> None:
    try:
        sockets.netlink_unix(wanted=())
    except OSError as e:
        pytest.skip(f"netlink sock_diag is refused here ({e}): unix peers cannot be read")


@pytest.fixture
def keep() -> Iterator[Callable[[socket.socket], socket.socket]]:
    """Close every socket a test opens, whatever happens (an unclosed one is a warning, an error)."""
    with contextlib.ExitStack() as stack:
        yield stack.enter_context


def ino(s: socket.socket | int) -> int:
    return os.fstat(s if isinstance(s, int) else s.fileno()).st_ino


def until(inodes: list[int], ready: Callable[[dict[int, Socket]], bool]) -> dict[int, Socket]:
    """The table of these inodes once ``ready`` (loopback data lands at once, but may lag a little)."""
    deadline = time.monotonic() + 5
    while True:
        table = sockets.socket_table(inodes)
        if ready(table) or time.monotonic() > deadline:
            return table
        time.sleep(0.01)


def test_a_socketpair_names_each_other_and_shows_the_bytes_unread(keep: Callable[..., socket.socket]) -> None:
    a, b = (keep(s) for s in socket.socketpair())
    a.sendall(b"x" * 1000)
    table = sockets.socket_table([ino(a), ino(b)])
    assert (table[ino(a)].peer, table[ino(b)].peer) == (ino(b), ino(a))
    assert (table[ino(b)].rqueue, table[ino(a)].rqueue) == (1000, 0)
    # What a unix socket has sent and is not read yet counts in its memory, buffers and all.
    assert table[ino(a)].wqueue >= 1000 and table[ino(b)].wqueue == 0
    assert {(s.family, s.type, s.state, s.loopback, s.shutdown) for s in table.values()} == {
        ("unix", "stream", "established", True, 0)
    }
    assert sockets.socket_table([ino(a)], peers=True) == table
    a.close()
    closed = sockets.socket_table([ino(b)])[ino(b)]
    assert (closed.peer, closed.shutdown) == (0, 3)  # a read on it ends at once


def test_a_duplex_multiprocessing_pipe_is_a_socketpair() -> None:
    left, right = multiprocessing.Pipe()
    with left, right:
        left.send_bytes(b"y" * 300)
        table = sockets.socket_table([ino(left.fileno()), ino(right.fileno())])
        assert table[ino(left.fileno())].peer == ino(right.fileno())
        assert table[ino(right.fileno())].peer == ino(left.fileno())
        assert table[ino(right.fileno())].rqueue == 4 + 300  # the length header, then the bytes


def test_a_blocked_send_on_a_full_unix_socket_shows_its_memory_past_its_send_buffer(
    keep: Callable[..., socket.socket],
) -> None:
    a, b = (keep(s) for s in socket.socketpair())
    size = 2 * a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    writer = threading.Thread(target=a.sendall, args=(b"z" * size,), daemon=True)
    writer.start()
    try:
        limit = a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        table = until([ino(a), ino(b)], lambda t: t[ino(a)].wqueue >= limit)
        assert table[ino(a)].wqueue >= limit
        unread = struct.unpack("i", fcntl.ioctl(b.fileno(), termios.FIONREAD, b"\0" * 4))[0]
        assert table[ino(b)].rqueue == unread > 0
    finally:
        got = 0
        while got < size:
            got += len(b.recv(size))
        writer.join(5)


def test_a_unix_client_not_accepted_yet_waits_on_the_listener(keep: Callable[..., socket.socket]) -> None:
    name = f"\0joinstall-test-{os.getpid()}"
    server = keep(socket.socket(socket.AF_UNIX))
    server.bind(name)
    server.listen(3)
    client = keep(socket.socket(socket.AF_UNIX))
    client.connect(name)
    table = sockets.socket_table([ino(server), ino(client)])
    assert (table[ino(server)].state, table[ino(server)].rqueue, table[ino(server)].wqueue) == (
        "listen",
        1,
        3,
    )
    assert (table[ino(client)].peer, table[ino(client)].remote) == (ino(server), name.replace("\0", "@"))
    accepted = keep(server.accept()[0])
    table = sockets.socket_table([ino(client), ino(accepted)])
    assert (table[ino(client)].peer, table[ino(accepted)].peer) == (ino(accepted), ino(client))


def test_tcp_over_loopback_pairs_the_client_with_the_accepted_socket(
    keep: Callable[..., socket.socket],
) -> None:
    server = keep(socket.socket())
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    client = keep(socket.create_connection(server.getsockname()))
    accepted = keep(server.accept()[0])
    waiting = keep(socket.create_connection(server.getsockname()))
    client.sendall(b"q" * 5000)
    inodes = [ino(s) for s in (server, client, accepted, waiting)]
    table = until(inodes, lambda t: t[ino(accepted)].rqueue == 5000)
    listener = table[ino(server)]
    assert (listener.family, listener.type, listener.state, listener.peer) == ("tcp", "stream", "listen", 0)
    assert listener.local == f"127.0.0.1:{server.getsockname()[1]}" and listener.loopback
    assert listener.rqueue == 1  # one connection waiting for accept()
    assert (table[ino(client)].peer, table[ino(accepted)].peer) == (ino(accepted), ino(client))
    assert table[ino(accepted)].rqueue == 5000
    assert table[ino(client)].remote == listener.local and table[ino(client)].state == "established"
    assert all(s.loopback for s in table.values())
    assert table[ino(waiting)].peer == ino(server)  # not accepted yet: the listener
    client.close()
    table = until([ino(accepted)], lambda t: t[ino(accepted)].state == "close_wait")
    assert (table[ino(accepted)].state, table[ino(accepted)].shutdown) == ("close_wait", 1)


def test_tcp_over_ipv6_loopback(keep: Callable[..., socket.socket]) -> None:
    server = keep(socket.socket(socket.AF_INET6))
    try:
        server.bind(("::1", 0))
    except OSError as e:
        pytest.skip(f"no IPv6 loopback here ({e})")
    server.listen(1)
    client = keep(socket.create_connection(server.getsockname()[:2]))
    accepted = keep(server.accept()[0])
    table = sockets.socket_table([ino(client), ino(accepted)])
    assert (table[ino(client)].peer, table[ino(accepted)].peer) == (ino(accepted), ino(client))
    assert table[ino(client)].family == "tcp6" and table[ino(client)].remote.startswith("[::1]:")


def test_udp_unconnected_and_connected_to_it(keep: Callable[..., socket.socket]) -> None:
    receiver = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    receiver.bind(("127.0.0.1", 0))
    sender = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    sender.connect(receiver.getsockname())
    sender.send(b"d" * 33)
    table = until([ino(receiver), ino(sender)], lambda t: t[ino(receiver)].rqueue > 0)
    got = table[ino(receiver)]
    assert (got.family, got.type, got.state, got.peer, got.remote, got.loopback) == (
        "udp", "dgram", "unconnected", 0, "", True
    )  # fmt: skip
    assert got.rqueue >= 33  # kernel memory for the datagram, not its length
    assert (table[ino(sender)].state, table[ino(sender)].peer) == ("established", ino(receiver))


def test_refused_netlink_falls_back_to_proc_net_unix(
    keep: Callable[..., socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = (keep(s) for s in socket.socketpair())
    monkeypatch.setattr(sockets, "NETLINK_SOCK_DIAG", 99)  # a protocol the kernel does not know
    with pytest.raises(OSError):
        sockets.netlink_unix()
    table = sockets.socket_table([ino(a), ino(b)])
    assert {(s.family, s.state, s.peer) for s in table.values()} == {("unix", "established", 0)}
    assert set(table) == {ino(a), ino(b)}


def test_an_error_reply_falls_back_to_proc_net_unix(
    keep: Callable[..., socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = (keep(s) for s in socket.socketpair())
    request = bytearray(sockets.unix_request())
    request[16] = 200  # no such address family: the kernel answers NLMSG_ERROR, EINVAL
    monkeypatch.setattr(sockets, "unix_request", lambda seq=sockets.SEQ: bytes(request))
    with pytest.raises(OSError) as info:
        sockets.netlink_unix()
    assert info.value.errno == errno.EINVAL
    assert sockets.socket_table([ino(a)])[ino(a)].peer == 0


def test_the_whole_table_holds_every_kind() -> None:
    table = sockets.table()
    assert table and all(inode == s.inode for inode, s in table.items())
    assert {s.family for s in table.values()} <= {"unix", "tcp", "tcp6", "udp", "udp6"}
