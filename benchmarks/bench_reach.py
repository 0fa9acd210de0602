"""``joinstall spy --pid`` on hangs beyond the queue's pipe, whole command, side by side.

Rows, each the median wall time of the complete command (as ``bench_spy``):

* a duplex ``multiprocessing.Pipe()`` whose child waits in ``recv()`` while the parent joins;  <= 0.4 s
* asyncio's ``await proc.wait()`` on a child that filled its stdout pipe;                     <= 0.4 s
* the duplex hang again with 2,000 unrelated sleeping processes and 4,400 unrelated sockets
  (2,000 socketpairs, 200 loopback TCP connections) around: one socket dump, not a file per
  socket;                                                                                      <= 1.5x
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

from benchmarks import timing
from benchmarks.bench_spy import CROWD, REPEATS, crowd, hung, spy

PAIRS = 2000
TCP = 200
#: A process that holds many sockets and sleeps: the table the engine reads grows, the tree not.
HOLDER = f"""
import socket, sys, time
keep = [socket.socketpair() for _ in range({PAIRS})]
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen({TCP})
clients = [socket.create_connection(server.getsockname()) for _ in range({TCP})]
accepted = [server.accept()[0] for _ in range({TCP})]
print("READY", flush=True)
time.sleep(600)
"""


@contextlib.contextmanager
def sockets() -> Iterator[None]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"READY"
        yield
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    with hung("pipe_recv_join.py", "fork") as pid:
        quiet = timing.median([spy(pid) for _ in range(REPEATS)])
        with crowd(CROWD), sockets():
            time.sleep(0.5)
            crowded = timing.median([spy(pid) for _ in range(REPEATS)])
    with hung("asyncio_proc_wait.py") as pid:
        loop = timing.median([spy(pid) for _ in range(REPEATS)])
    rows = [
        ("spy, duplex Pipe recv + join", quiet),
        ("spy, asyncio proc.wait() on a full pipe", loop),
        (f"spy, duplex hang, {CROWD:,} sleepers, {2 * PAIRS + 2 * TCP:,} sockets", crowded),
    ]
    timing.table(rows, base="spy, duplex Pipe recv + join")
    timing.goals(
        ("duplex", quiet, 0.4, " s"), ("asyncio", loop, 0.4, " s"), ("crowded", crowded / quiet, 1.5, "x")
    )
