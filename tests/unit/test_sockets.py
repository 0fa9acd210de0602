"""The socket table as pure parsing: netlink replies built here byte by byte, recorded /proc/net text."""

from __future__ import annotations

import errno
import json
import struct
import sys
from pathlib import Path

import pytest
from joinstall.engine import sockets
from joinstall.engine.sockets import Socket

# Netlink replies as the kernel lays them out (native byte order, 4-byte alignment).
NAME, VFS, PEER, ICONS, RQLEN, SHUTDOWN = 0, 1, 2, 3, 4, 6
STREAM, DGRAM = 1, 2
ESTABLISHED, UNCONNECTED, LISTEN = 1, 7, 10


def attr(kind: int, payload: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + bytes(-len(raw) % 4)


def unix_msg(inode: int, type_: int, state: int, *attrs: bytes, seq: int = sockets.SEQ) -> bytes:
    body = struct.pack("=BBBBI8x", 1, type_, state, 0, inode) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), sockets.SOCK_DIAG_BY_FAMILY, 2, seq, 0) + body


def done(code: int = 0, kind: int = sockets.NLMSG_DONE) -> bytes:
    return struct.pack("=IHHIIi", 20, kind, 2, sockets.SEQ, 0, code)


def rqlen(rqueue: int, wqueue: int) -> bytes:
    return attr(RQLEN, struct.pack("=II", rqueue, wqueue))


def peer(inode: int) -> bytes:
    return attr(PEER, struct.pack("=I", inode))


def test_the_request_asks_for_every_unix_socket_with_name_peer_pending_clients_and_queues() -> None:
    req = sockets.unix_request()
    length, kind, flags, seq, _ = struct.unpack_from("=IHHII", req)
    family, protocol, _, states, ino, show = struct.unpack_from("=BBHIII", req, 16)
    assert (length, len(req), kind, flags, seq) == (40, 40, 20, 0x301, sockets.SEQ)
    assert (family, protocol, states, ino) == (1, 0, 0xFFFFFFFF, 0)
    assert show == 0x01 | 0x04 | 0x08 | 0x10  # NAME, PEER, ICONS, RQLEN


def test_a_socketpair_names_each_other_with_what_is_queued() -> None:
    a = unix_msg(100, STREAM, ESTABLISHED, peer(101), rqlen(0, 2304), attr(SHUTDOWN, b"\0"))
    b = unix_msg(101, STREAM, ESTABLISHED, peer(100), rqlen(1000, 0), attr(SHUTDOWN, b"\0"))
    table = sockets.parse_unix([a + b + done()])
    assert table[100] == Socket(100, "unix", "stream", "established", 101, 0, 2304, "", "", True)
    assert table[101] == Socket(101, "unix", "stream", "established", 100, 1000, 0, "", "", True)


def test_a_reply_in_several_reads_is_read_to_its_end_and_foreign_messages_skipped() -> None:
    stale = unix_msg(7, STREAM, ESTABLISHED, seq=99)
    first = unix_msg(200, DGRAM, UNCONNECTED, rqlen(0, 0)) + stale
    second = unix_msg(201, 5, ESTABLISHED, attr(VFS, bytes(8)), peer(202), rqlen(10, 0)) + done()
    table = sockets.parse_unix(iter([first, second, b"never read"]))
    assert set(table) == {200, 201}
    assert (table[200].type, table[200].state, table[200].peer) == ("dgram", "unconnected", 0)
    # An attribute not asked for (VFS) is skipped; a peer outside the dump keeps its inode.
    got = table[201]
    assert (got.type, got.peer, got.rqueue, got.remote) == ("seqpacket", 202, 10, "")


def test_names_pending_clients_and_a_listeners_backlog() -> None:
    listener = unix_msg(
        300,
        STREAM,
        LISTEN,
        attr(NAME, b"/run/app.sock\0"),
        attr(ICONS, struct.pack("=II", 301, 303)),
        rqlen(2, 128),
    )
    waiting = unix_msg(301, STREAM, ESTABLISHED, peer(0), rqlen(0, 0))
    client = unix_msg(302, STREAM, ESTABLISHED, peer(304), rqlen(0, 0))
    accepted = unix_msg(304, STREAM, ESTABLISHED, attr(NAME, b"\0joinstall\0x"), peer(302), rqlen(0, 0))
    closed = unix_msg(305, STREAM, ESTABLISHED, peer(0), rqlen(0, 0), attr(SHUTDOWN, b"\x03"))
    table = sockets.parse_unix([listener + waiting + client + accepted + closed + done()])
    assert (table[300].state, table[300].rqueue, table[300].wqueue) == ("listen", 2, 128)
    assert table[300].local == "/run/app.sock" and table[300].peer == 0
    # Not accepted yet: the kernel shows no peer, the listener's pending list does.
    assert (table[301].peer, table[301].remote) == (300, "/run/app.sock")
    # An abstract name shows each NUL as @, as /proc/net/unix does.
    assert (table[302].peer, table[302].remote) == (304, "@joinstall@x")
    assert (table[305].peer, table[305].shutdown) == (0, 3)
    only = sockets.parse_unix([listener + waiting + client + accepted + done()], wanted={301, 302})
    assert set(only) == {301, 302} and only[301].remote == "/run/app.sock"
    with_peers = sockets.parse_unix(
        [listener + waiting + client + accepted + done()], wanted={301, 302}, peers=True
    )
    assert set(with_peers) == {300, 301, 302, 304} and with_peers[304] == table[304]


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (done(-errno.EPERM, kind=sockets.NLMSG_ERROR), errno.EPERM),
        (done(-errno.ENOENT), errno.ENOENT),  # a dump that failed halfway
        (unix_msg(1, STREAM, ESTABLISHED), errno.EIO),  # no NLMSG_DONE: replies cut short
        (struct.pack("=IHHII", 8, 20, 0, 1, 0), errno.EBADMSG),
    ],
    ids=["error", "done-with-error", "cut-short", "malformed"],
)
def test_a_refusal_or_a_broken_reply_raises(reply: bytes, code: int) -> None:
    with pytest.raises(OSError) as info:
        sockets.parse_unix([reply])
    assert info.value.errno == code


PROC_UNIX = """\
Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 33815 /run/dbus/system bus socket
0000000000000000: 00000003 00000000 00000000 0001 03 33816 /run/dbus/system bus socket
0000000000000000: 00000003 00000000 00000000 0001 03 33817
0000000000000000: 00000002 00000000 00000000 0002 01 33818 @abstract
0000000000000000: 00000002 00000000 00000000 0005 02 33819
garbage line
"""
LITTLE_ENDIAN = pytest.mark.skipif(sys.byteorder != "little", reason="recorded on a little-endian machine")

# Recorded: a server on 127.0.0.1:45029 with an accepted connection (5000 bytes unread) and one
# still in its accept queue; a dual-stack server on [::]:37253 reached through 127.0.0.1 (so a
# tcp client pairs with a tcp6 ::ffff:127.0.0.1 socket); a pair over ::1; a TIME_WAIT; a
# connection to another machine and one to an address this machine has (192.0.2.7); a
# connection whose one end has closed.
TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:AFE5 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 57616 2 0 100 0 0 10 0
   3: 0100007F:90EE 0100007F:AFE5 01 00000000:00000000 00:00000000 00000000     0        0 57617 2 0 20 0 0 11 -1
   4: 0100007F:90F6 0100007F:AFE5 01 00000000:00000000 00:00000000 00000000     0        0 57619 2 0 20 0 0 10 -1
   5: 0100007F:AFE5 0100007F:90EE 01 00000000:00001388 00:00000000 00000000     0        0 57618 1 0 20 4 12 10 -1
   6: 0100007F:AFE5 0100007F:90F6 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0 20 4 12 10 -1
   7: 0100007F:9E4E 0100007F:9185 01 00000000:00000000 00:00000000 00000000     0        0 57621 2 0 20 0 0 10 -1
   8: 0100007F:A000 0100007F:AFE5 06 00000000:00000000 03:00000056 00000000     0        0 0 3 0
   9: 070200C0:C000 146433C6:01BB 01 0000000A:00000000 00:00000000 00000000  1000        0 57630 2 0 20 0 0 10 -1
  10: 070200C0:C001 070200C0:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 57631 2 0 20 0 0 10 -1
  11: 0100007F:C002 0100007F:1F91 08 00000000:00000000 00:00000000 00000000     0        0 57632 2 0 20 0 0 10 -1
  12: 0100007F:1F91 0100007F:C002 05 00000000:00000000 00:00000000 00000000     0        0 57633 2 0 20 0 0 10 -1
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:9185 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 57620 1 0
   1: 00000000000000000000000001000000:E947 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 57623 1 0
   2: 00000000000000000000000001000000:E947 00000000000000000000000001000000:9846 01 00000000:00000000 00:00000000 00000000     0        0 57625 1 0
   3: 00000000000000000000000001000000:9846 00000000000000000000000001000000:E947 01 00000000:00000000 00:00000000 00000000     0        0 57624 2 0
   4: 0000000000000000FFFF00000100007F:9185 0000000000000000FFFF00000100007F:9E4E 01 00000000:00000000 00:00000000 00000000     0        0 57622 1 0
"""
UDP = """\
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 6354: 0100007F:C50D 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 57626 2 0 0
 7077: 0100007F:87E0 0100007F:C50D 01 00000000:00000000 00:00000000 00000000     0        0 57627 2 0 0
 7078: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 57628 2 0 0
"""


def fake_proc(root: Path, **files: str) -> str:
    (root / "net").mkdir()
    for name, text in files.items():
        (root / "net" / name).write_text(text)
    return str(root)


@LITTLE_ENDIAN
def test_tcp_rows_pair_with_their_swapped_rows_across_ipv4_and_ipv6() -> None:
    rows = sockets.parse_inet(TCP, "tcp") + sockets.parse_inet(TCP6, "tcp6")
    table = sockets.inet_sockets(rows)
    # The socketless rows (a TIME_WAIT, a connection not accepted yet) are not sockets.
    assert 0 not in table and len(table) == 14
    # One connection waits for accept().
    assert table[57616] == Socket(57616, "tcp", "stream", "listen", 0, 1, 0, "127.0.0.1:45029", "", True)
    client, accepted = table[57617], table[57618]
    assert (client.peer, accepted.peer) == (57618, 57617)
    assert (client.remote, accepted.rqueue, accepted.type) == ("127.0.0.1:45029", 5000, "stream")
    # A connection still in the accept queue: whoever accepts from the listener answers.
    assert table[57619].peer == 57616
    mapped = table[57622]
    assert (mapped.family, mapped.local, mapped.remote) == (
        "tcp6",
        "[::ffff:127.0.0.1]:37253",
        "[::ffff:127.0.0.1]:40526",
    )
    assert (mapped.peer, table[57621].peer) == (57621, 57622)
    assert (table[57624].peer, table[57625].peer, table[57625].local) == (57625, 57624, "[::1]:59719")
    assert table[57620].local == "[::]:37253" and not table[57620].loopback
    assert set(sockets.inet_sockets(rows, {57617, 57619}, peers=True)) == {57616, 57617, 57618, 57619}
    outside, here = table[57630], table[57631]
    assert outside == Socket(
        57630, "tcp", "stream", "established", 0, 0, 10, "192.0.2.7:49152", "198.51.100.20:443", False
    )
    assert here.loopback and here.peer == 0  # 192.0.2.7 is bound here: the far end is on this machine
    # The peer closed: a read returns at once (CLOSE_WAIT), and the closer sends no more.
    assert (table[57632].state, table[57632].shutdown, table[57632].peer) == ("close_wait", 1, 57633)
    assert (table[57633].state, table[57633].shutdown, table[57617].shutdown) == ("fin_wait2", 2, 0)


@LITTLE_ENDIAN
def test_udp_sockets_unconnected_and_sending_to_a_bound_one() -> None:
    table = sockets.inet_sockets(sockets.parse_inet(UDP, "udp"))
    bound, sender, wildcard = table[57626], table[57627], table[57628]
    assert bound == Socket(57626, "udp", "dgram", "unconnected", 0, 0x340, 0, "127.0.0.1:50445", "", True)
    assert sender == Socket(
        57627, "udp", "dgram", "established", 57626, 0, 0, "127.0.0.1:34784", "127.0.0.1:50445", True
    )
    assert (wildcard.local, wildcard.loopback) == ("0.0.0.0:68", False)


@LITTLE_ENDIAN
def test_a_table_from_a_proc_folder_reads_its_files_and_skips_what_is_missing(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, unix=PROC_UNIX, tcp=TCP, udp=UDP)  # no tcp6, no udp6
    table = sockets.table(proc)
    assert {s.family for s in table.values()} == {"unix", "tcp", "udp"}
    assert table[57617].peer == 57618
    assert table[57621].peer == 0  # its peer (57622) was in the missing tcp6
    assert sockets.socket_table([57626, 33817, 12345], proc) == {57626: table[57626], 33817: table[33817]}


def test_proc_net_unix_gives_types_states_and_names_but_no_peer() -> None:
    table = sockets.parse_proc_unix(PROC_UNIX)
    assert set(table) == {33815, 33816, 33817, 33818, 33819}
    assert table[33815] == Socket(
        33815, "unix", "stream", "listen", 0, 0, 0, "/run/dbus/system bus socket", "", True
    )
    assert (table[33816].state, table[33816].peer) == ("established", 0)
    assert table[33818] == Socket(33818, "unix", "dgram", "unconnected", 0, 0, 0, "@abstract", "", True)
    assert (table[33819].type, table[33819].state) == ("seqpacket", "syn_sent")


def test_when_netlink_is_refused_proc_net_unix_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = fake_proc(tmp_path, unix=PROC_UNIX)
    monkeypatch.setattr(sockets, "REAL_PROC", proc)  # as if this folder were the kernel's /proc
    asked = []

    def refused(wanted: object = None, **options: object) -> dict[int, Socket]:
        asked.append(wanted)
        raise PermissionError(errno.EPERM, "netlink is not allowed here")

    monkeypatch.setattr(sockets, "netlink_unix", refused)
    assert set(sockets.unix_table(proc)) == {33815, 33816, 33817, 33818, 33819}
    assert asked == [None]
    assert set(sockets.socket_table({33816}, proc)) == {33816}


def test_an_unreadable_proc_gives_an_empty_table(tmp_path: Path) -> None:
    assert sockets.table(str(tmp_path / "nonexistent")) == {}


def test_no_inodes_read_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no(*args: object) -> dict[int, Socket]:
        raise AssertionError("read a table for no inode")

    monkeypatch.setattr(sockets, "unix_table", no)
    assert sockets.socket_table([]) == {}


def test_unix_inodes_alone_do_not_read_the_tcp_and_udp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = fake_proc(tmp_path, unix=PROC_UNIX)

    def no(*args: object) -> dict[int, Socket]:
        raise AssertionError("read /proc/net/tcp for unix sockets")

    monkeypatch.setattr(sockets, "inet_table", no)
    assert set(sockets.socket_table([33815, 33818], proc)) == {33815, 33818}


def test_a_table_round_trips_through_json() -> None:
    table = {
        5: Socket(5, "unix", "stream", "established", 6, 1000, 2304, "@a\udcff", "/x", True, 3),
        9: Socket(9, "tcp6", "stream", "listen", 0, 1, 0, "[::1]:80", "", True),
    }
    again = sockets.from_dict(json.loads(json.dumps(sockets.to_dict(table))))
    assert again == table and list(again) == [5, 9]
    # A recording made before a field existed, or after one was added, still loads.
    old = {"3": {k: v for k, v in table[5].to_dict().items() if k != "shutdown"} | {"inode": 3, "later": 1}}
    assert sockets.from_dict(old)[3] == Socket(
        3, "unix", "stream", "established", 6, 1000, 2304, "@a\udcff", "/x", True
    )
