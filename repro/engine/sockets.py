"""Who is at the other end of a socket: one table of the machine's sockets, keyed by inode.

A thread blocked in ``recv`` waits for whoever holds the socket at the other end; a blocked
``send`` waits for that holder to read. An fd table (``snapshot``) names a socket by its inode
alone: this module tells, for each inode, its family, state, peer inode and queued bytes. It reads
the machine in one pass per kind, never a file per socket: with thousands of unrelated sockets on
the machine, a reading costs a few microseconds per socket, plus the kernel's walk of its TCP
tables (a few milliseconds for ``tcp`` and ``tcp6`` each, however few sockets they hold):

* unix: one ``NETLINK_SOCK_DIAG`` dump (``SOCK_DIAG_BY_FAMILY`` with ``struct unix_diag_req``),
  the only source that shows a unix socket's peer and queues. If netlink is refused (a sandbox
  without it, a kernel without ``unix_diag``), ``/proc/net/unix`` instead: type, state and name,
  but peer 0 (unknown: never proven) and queues 0;
* TCP and UDP: one read each of ``/proc/net/tcp``, ``tcp6``, ``udp`` and ``udp6``. A connected
  socket's peer is the row with local and remote swapped; an IPv4-mapped IPv6 address matches its
  IPv4 form, so a ``tcp`` client pairs with a dual-stack ``tcp6`` server's accepted socket.

A connection the server has not accepted yet has no socket on the server's side (no inode): its
client's peer is the listener instead, as whoever accepts from it is the only one who can answer.
Likewise a UDP socket sending to a bound, unconnected one has that one as its peer. Such a peer
does not name the client back: an edge one way, like a connected unix datagram socket's.

Why a reader of our own and not a library: pyroute2's ``DiagSocket`` does dump unix sockets with
their peers and queues, but it is a large package for one request of 40 bytes, its
``get_sock_stats`` is marked as an API still to change, it drops netlink error replies (a refusal
must send us to ``/proc/net/unix``, not to an empty table), and it has no type hints; psutil
shows no unix peer at all.

Limits:

* network namespaces: both sources show the reader's own one. Sockets of a process in another
  (a container) are not in the table; a caller treats a missing inode as unknown, outside;
* only sockets the kernel lists: a TCP socket neither listening nor connected (if bound, too)
  and a UDP socket not bound are in no table;
* queue units: a unix stream's ``rqueue`` is bytes unread (as ``FIONREAD``), but a unix
  datagram's is the first datagram's length only; a unix ``wqueue`` and both UDP queues are
  kernel memory (buffers with their overhead, about 2.3 KiB for a 1000-byte write), not bytes. A
  unix ``send`` blocks once its own ``wqueue`` passes its ``SO_SNDBUF``. TCP's are bytes
  (``rx_queue``: received, unread; ``tx_queue``: written, not acknowledged yet);
* a listening socket's ``rqueue`` is the connections waiting for ``accept``; its ``wqueue`` is the
  backlog's limit for unix, 0 for TCP;
* one pass is not atomic: a socket opened or closed during it may be missing or stale.

Every reader tolerates a source it cannot read: it returns what it could.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import os
import socket
import struct
import sys
from collections.abc import Collection, Container, Iterable, Mapping
from typing import Any

from joinstall.observe import procfs

PROC = procfs.PROC
#: The kernel's own /proc. Netlink answers for this machine: when a caller reads another folder
#: (a recorded or made-up /proc in tests), only files from there are read.
REAL_PROC = "/proc"
#: Seconds one netlink read may take before the dump is given up for /proc/net/unix.
NETLINK_TIMEOUT = 1.0


@dataclasses.dataclass(frozen=True)
class Socket:
    """One socket. ``peer``: the inode of the socket at the other end on this machine, 0 when
    none or unknown. ``loopback``: whatever it talks to is on this machine (unix: always; TCP and
    UDP: the remote address is local, or with no remote the socket is bound to a loopback
    address). ``shutdown``: 1 nothing more to receive (a read ends at once), 2 nothing more to
    send; a unix stream whose peer has closed shows 3 (netlink only), a TCP connection what its
    state says (``close_wait``: 1), UDP 0."""

    inode: int
    family: str
    type: str
    state: str
    peer: int
    rqueue: int
    wqueue: int
    local: str
    remote: str
    loopback: bool
    shutdown: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Socket:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def to_dict(sockets: Mapping[int, Socket]) -> dict[str, dict[str, Any]]:
    """A table as JSON wants it: keys are strings."""
    return {str(inode): s.to_dict() for inode, s in sorted(sockets.items())}


def from_dict(data: Mapping[str, Mapping[str, Any]]) -> dict[int, Socket]:
    """Rebuild a recorded table: the engine is replayed on recordings from other machines."""
    return {int(inode): Socket.from_dict(s) for inode, s in data.items()}


def table(proc: str | None = None) -> dict[int, Socket]:
    """Every socket of the reader's network namespace: unix, TCP and UDP."""
    proc = proc or PROC
    return {**unix_table(proc), **inet_table(proc)}


def socket_table(
    inodes: Collection[int], proc: str | None = None, *, peers: bool = False
) -> dict[int, Socket]:
    """The sockets among ``inodes`` (an inode not found is not in the table), and with ``peers``
    their peers too, from the same pass. The TCP and UDP files are read only if some inode is
    not a unix socket."""
    if not inodes:
        return {}
    proc = proc or PROC
    wanted = set(inodes)
    found = unix_table(proc, wanted, peers=peers)
    rest = wanted - found.keys()
    if rest:
        found.update(inet_table(proc, rest, peers=peers))
    return found


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("ascii", "replace")
    except OSError:
        return ""


# Unix sockets through netlink sock_diag (linux/netlink.h, linux/sock_diag.h, linux/unix_diag.h).
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
#: Attributes of a ``unix_diag_msg`` (the enum starts at 0: there is no UNIX_DIAG_NONE).
UNIX_DIAG_NAME, UNIX_DIAG_PEER, UNIX_DIAG_ICONS, UNIX_DIAG_RQLEN, UNIX_DIAG_SHUTDOWN = 0, 2, 3, 4, 6
#: The ``udiag_show`` bit of an attribute is ``1 << attribute``.
SHOW = (1 << UNIX_DIAG_NAME) | (1 << UNIX_DIAG_PEER) | (1 << UNIX_DIAG_ICONS) | (1 << UNIX_DIAG_RQLEN)
SEQ = 1
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_MSG = struct.Struct("=BBBxI8x")  # unix_diag_msg: family, type, state, pad, inode, cookie
_ATTR = struct.Struct("=HH")  # nlattr: len, type
_U32, _U32S = struct.Struct("=I").unpack_from, struct.Struct("=II").unpack_from
_REQ = struct.Struct("=BBHIII8x")  # unix_diag_req: family, protocol, pad, states, ino, show, cookie
#: ``SOCK_STREAM``, ``SOCK_DGRAM``, ``SOCK_SEQPACKET`` as the kernel numbers them.
TYPES = {1: "stream", 2: "dgram", 5: "seqpacket"}
#: The kernel's TCP states (include/net/tcp_states.h), which unix sockets use too. CLOSE is a
#: socket with no connection: unconnected UDP or unix datagrams, a bound TCP socket, or one done.
STATES = {
    1: "established", 2: "syn_sent", 3: "syn_recv", 4: "fin_wait1", 5: "fin_wait2", 6: "time_wait",
    7: "unconnected", 8: "close_wait", 9: "last_ack", 10: "listen", 11: "closing", 12: "new_syn_recv",
}  # fmt: skip
ESTABLISHED, SYN_SENT, SYN_RECV, UNCONNECTED, LISTEN, NEW_SYN_RECV = 1, 2, 3, 7, 10, 12
#: What a TCP connection's state says of its ends, in ``shutdown`` bits: CLOSE_WAIT has the
#: peer's FIN (nothing more to receive), FIN_WAIT our own (nothing more to send).
_TCP_SHUTDOWN = {4: 2, 5: 2, 8: 1, 9: 3, 11: 3}


def unix_request(seq: int = SEQ) -> bytes:
    """A dump of every unix socket, in every state, with name, peer, pending clients, queues."""
    body = _REQ.pack(socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, SHOW)
    return (
        _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body
    )


def _name(raw: bytes) -> str:
    """A unix address as /proc/net/unix shows it: ``@`` for each NUL of an abstract name."""
    if not raw:
        return ""
    if raw[0] == 0:
        return os.fsdecode(raw).replace("\0", "@")
    return os.fsdecode(raw.split(b"\0", 1)[0])


#: One unix socket as the dump gives it: inode, type, state, name, peer, rqueue, wqueue, shutdown.
_Raw = tuple[int, int, int, str, int, int, int, int]


def parse_unix(
    replies: Iterable[bytes], seq: int = SEQ, wanted: Container[int] | None = None, *, peers: bool = False
) -> dict[int, Socket]:
    """The unix sockets in a dump's replies, read up to its NLMSG_DONE (only those in ``wanted``
    if given, and their peers with ``peers``). A refusal (NLMSG_ERROR) raises its OSError, and
    so do replies that end early."""
    raw: list[_Raw] = []
    pending: dict[int, int] = {}
    for data in replies:
        if _parse_reply(data, seq, raw, pending):
            return _resolve(raw, pending, wanted, peers)
    raise OSError(errno.EIO, "the netlink dump ended before NLMSG_DONE")


def _parse_reply(data: bytes, seq: int, raw: list[_Raw], pending: dict[int, int]) -> bool:
    """Add the sockets of one netlink read to ``raw``, and the clients waiting in a listener's
    queue to ``pending`` (client inode -> listener inode, ``UNIX_DIAG_ICONS``). True: dump over.

    One loop, no helper per attribute: a machine has thousands of unix sockets, and this is
    where reading them spends its time (the kernel's dump itself takes a tenth of it).
    """
    header, msg, attr_head, u32, u32s = _HEADER.unpack_from, _MSG.unpack_from, _ATTR.unpack_from, _U32, _U32S
    size = len(data)
    off = 0
    while off + 16 <= size:
        length, kind, _, got_seq, _ = header(data, off)
        if length < 16:
            raise OSError(errno.EBADMSG, "a netlink message shorter than its header")
        body, end = off + 16, min(off + length, size)
        off += (length + 3) & ~3
        if got_seq != seq:
            continue  # not an answer to our request
        if kind == SOCK_DIAG_BY_FAMILY and end - body >= 16:
            _, type_, state, inode = msg(data, body)
            name, peer, rqueue, wqueue, shutdown = "", 0, 0, 0, 0
            at = body + 16
            while at + 4 <= end:
                alen, attr = attr_head(data, at)
                if alen < 4:
                    break
                attr &= 0x3FFF
                if attr == UNIX_DIAG_RQLEN and alen >= 12:
                    rqueue, wqueue = u32s(data, at + 4)
                elif attr == UNIX_DIAG_PEER and alen >= 8:
                    peer = u32(data, at + 4)[0]
                elif attr == UNIX_DIAG_SHUTDOWN and alen >= 5:
                    shutdown = data[at + 4]
                elif attr == UNIX_DIAG_NAME:
                    name = _name(data[at + 4 : min(at + alen, end)])
                elif attr == UNIX_DIAG_ICONS:
                    clients = struct.unpack_from(f"={(min(at + alen, end) - at - 4) // 4}I", data, at + 4)
                    pending.update(dict.fromkeys(clients, inode))
                at += (alen + 3) & ~3
            raw.append((inode, type_, state, name, peer, rqueue, wqueue, shutdown))
        elif kind in (NLMSG_DONE, NLMSG_ERROR):
            code = struct.unpack_from("=i", data, body)[0] if end - body >= 4 else 0
            if code < 0:
                raise OSError(-code, os.strerror(-code))
            return True
    return False


def _resolve(
    raw: list[_Raw], pending: Mapping[int, int], wanted: Container[int] | None, peers: bool
) -> dict[int, Socket]:
    """Sockets with the peers the kernel leaves out (a client not accepted yet has the
    listener), and with the peer's name as their remote."""
    names = {r[0]: r[3] for r in raw if r[3]}
    rows = raw if wanted is None else [r for r in raw if r[0] in wanted]
    if peers and wanted is not None:
        more = {r[4] or pending.get(r[0], 0) for r in rows}
        rows += [r for r in raw if r[0] in more and r[0] not in wanted]
    out = {}
    for inode, type_, state, name, peer, rqueue, wqueue, shutdown in rows:
        peer = peer or pending.get(inode, 0)
        out[inode] = Socket(
            inode, "unix", TYPES.get(type_, str(type_)), STATES.get(state, str(state)), peer,
            rqueue, wqueue, name, names.get(peer, ""), True, shutdown,
        )  # fmt: skip
    return out


def netlink_unix(wanted: Container[int] | None = None, *, peers: bool = False) -> dict[int, Socket]:
    """Every unix socket (in ``wanted``, and their peers with ``peers``), from one sock_diag
    dump. Raises OSError if netlink is refused."""
    family = getattr(socket, "AF_NETLINK", None)
    if family is None:
        raise OSError(errno.EAFNOSUPPORT, "no netlink on this platform")
    with socket.socket(family, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(NETLINK_TIMEOUT)
        nl.sendto(unix_request(), (0, 0))
        return parse_unix(iter(functools.partial(nl.recv, 1 << 16), b""), SEQ, wanted, peers=peers)


#: /proc/net/unix's ``St`` column is the socket's SS_* state, not the TCP-like one of netlink.
_PROC_UNIX_STATES = {1: "unconnected", 2: "syn_sent", 3: "established", 4: "closing"}
#: ``Flags`` bit of a listening socket (``__SO_ACCEPTCON``).
_ACCEPTCON = 0x10000


def parse_proc_unix(text: str, wanted: Container[int] | None = None) -> dict[int, Socket]:
    """``/proc/net/unix``: ``Num RefCount Protocol Flags Type St Inode [Path]``; no peers."""
    out = {}
    for line in text.splitlines()[1:]:
        parts = line.split(None, 7)
        if len(parts) < 7:
            continue
        try:
            flags, type_, state = (int(x, 16) for x in parts[3:6])
            inode = int(parts[6])
        except ValueError:
            continue
        if wanted is not None and inode not in wanted:
            continue
        name = "listen" if flags & _ACCEPTCON else _PROC_UNIX_STATES.get(state, str(state))
        path = parts[7] if len(parts) > 7 else ""
        out[inode] = Socket(inode, "unix", TYPES.get(type_, str(type_)), name, 0, 0, 0, path, "", True)
    return out


def unix_table(
    proc: str | None = None, wanted: Container[int] | None = None, *, peers: bool = False
) -> dict[int, Socket]:
    """Every unix socket (in ``wanted``, and their peers with ``peers``): through netlink for the
    real /proc, else (or if netlink is refused) from its file, which shows no peers."""
    proc = proc or PROC
    if proc == REAL_PROC:
        try:
            return netlink_unix(wanted, peers=peers)
        except (OSError, struct.error):
            pass  # refused, timed out, or not understood: what /proc/net/unix shows will do
    return parse_proc_unix(_read(f"{proc}/net/unix"), wanted)


# TCP and UDP through /proc/net/{tcp,tcp6,udp,udp6}.
INET = ("tcp", "tcp6", "udp", "udp6")
_ANY4, _ANY6 = bytes(4), bytes(16)
_MAPPED = bytes(10) + b"\xff\xff"
_LOOPBACK6 = bytes(15) + b"\x01"


@dataclasses.dataclass(frozen=True)
class Address:
    """An IP address as shown (``127.0.0.1``, ``[::1]``) and as matched."""

    text: str
    #: What pairs with what: an IPv4-mapped IPv6 address is its IPv4 address.
    key: bytes
    loopback: bool


@functools.lru_cache(maxsize=4096)
def _ip(hexaddr: str) -> Address:
    """An address column: 32-bit words, each printed as the host's integer (so byte-swapped on
    little-endian machines): ``0100007F`` is 127.0.0.1."""
    if len(hexaddr) not in (8, 32):
        raise ValueError(f"not an address: {hexaddr!r}")
    raw = b"".join(int(hexaddr[i : i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, len(hexaddr), 8))
    if len(raw) == 4:
        return Address(socket.inet_ntop(socket.AF_INET, raw), raw, raw[0] == 127)
    key = raw[12:] if raw[:12] == _MAPPED else raw
    loopback = key[0] == 127 if len(key) == 4 else key == _LOOPBACK6
    return Address(f"[{socket.inet_ntop(socket.AF_INET6, raw)}]", key, loopback)


@dataclasses.dataclass(frozen=True)
class InetRow:
    """One row of /proc/net/tcp*, udp* (inode 0: a connection no socket holds, such as TIME_WAIT
    or one still in a listener's accept queue)."""

    family: str
    inode: int
    state: int
    local: Address
    lport: int
    remote: Address
    rport: int
    tx: int
    rx: int

    @property
    def proto(self) -> str:
        return self.family.rstrip("6")

    def ends(self) -> tuple[str, bytes, int, bytes, int]:
        return (self.proto, self.local.key, self.lport, self.remote.key, self.rport)


def parse_inet(text: str, family: str) -> list[InetRow]:
    """``sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ...``."""
    rows = []
    for line in text.splitlines()[1:]:
        parts = line.split(None, 10)
        if len(parts) < 10:
            continue
        try:
            lhex, _, lport = parts[1].partition(":")
            rhex, _, rport = parts[2].partition(":")
            tx, _, rx = parts[4].partition(":")
            rows.append(
                InetRow(
                    family, int(parts[9]), int(parts[3], 16), _ip(lhex), int(lport, 16),
                    _ip(rhex), int(rport, 16), int(tx, 16), int(rx, 16),
                )
            )  # fmt: skip
        except ValueError:
            continue
    return rows


def inet_sockets(
    rows: list[InetRow], wanted: Container[int] | None = None, *, peers: bool = False
) -> dict[int, Socket]:
    """The sockets of these rows (those in ``wanted``, and their peers with ``peers``), each
    paired with its peer among them."""
    # A row with a socket wins over a socketless one with the same ends (a TIME_WAIT left over).
    by_ends = {r.ends(): r for r in rows if not r.inode}
    by_ends.update((r.ends(), r) for r in rows if r.inode)
    #: Who receives what is sent to an address: a TCP listener, a bound unconnected UDP socket.
    bound = {
        (r.proto, r.local.key, r.lport): r.inode
        for r in rows
        if r.inode and r.rport == 0 and r.state == (UNCONNECTED if r.proto == "udp" else LISTEN)
    }
    here = {r.local.key for r in rows if r.local.key not in (_ANY4, _ANY6)}

    def paired(r: InetRow) -> Socket:
        peer, connected = 0, r.rport != 0
        if connected:
            other = by_ends.get((r.proto, r.remote.key, r.rport, r.local.key, r.lport))
            if other is not None and other.inode:
                peer = other.inode
            elif (other is None) if r.proto == "udp" else _unaccepted(r, other):
                peer = _receiver(bound, r)  # what it sends goes there; it may never answer
            loopback = bool(peer) or r.remote.loopback or r.remote.key in here
        else:
            loopback = r.local.loopback
        tcp = r.proto == "tcp"
        remote = _text(r.remote, r.rport) if connected else ""
        shutdown = _TCP_SHUTDOWN.get(r.state, 0) if tcp else 0
        return Socket(
            r.inode, r.family, "stream" if tcp else "dgram", STATES.get(r.state, str(r.state)), peer,
            r.rx, r.tx, _text(r.local, r.lport), remote, loopback, shutdown,
        )  # fmt: skip

    out = {r.inode: paired(r) for r in rows if r.inode and (wanted is None or r.inode in wanted)}
    if peers and wanted is not None:
        more = {s.peer for s in out.values()} - out.keys()
        out.update((r.inode, paired(r)) for r in rows if r.inode in more)
    return out


def _unaccepted(r: InetRow, other: InetRow | None) -> bool:
    """A TCP connection whose server side is still in the accept queue (no socket yet), or
    whose handshake waits for room in it."""
    if other is None:
        return r.state == SYN_SENT
    return r.state == ESTABLISHED and other.state in (ESTABLISHED, SYN_RECV, NEW_SYN_RECV)


def _receiver(bound: Mapping[tuple[str, bytes, int], int], r: InetRow) -> int:
    """The socket bound to ``r``'s remote address: on it exactly, or on a wildcard address."""
    for key in (r.remote.key, _ANY4 if len(r.remote.key) == 4 else _ANY6, _ANY6):
        found = bound.get((r.proto, key, r.rport))
        if found:
            return found
    return 0


def _text(ip: Address, port: int) -> str:
    return f"{ip.text}:{port}"


def inet_table(
    proc: str | None = None, wanted: Container[int] | None = None, *, peers: bool = False
) -> dict[int, Socket]:
    """Every TCP and UDP socket (in ``wanted``, and their peers with ``peers``), IPv4 and IPv6:
    one read of each file."""
    proc = proc or PROC
    rows = [row for family in INET for row in parse_inet(_read(f"{proc}/net/{family}"), family)]
    return inet_sockets(rows, wanted, peers=peers)
