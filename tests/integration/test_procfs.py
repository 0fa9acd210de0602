"""/proc observation of real pipes and threads in this very process."""

from __future__ import annotations

import ctypes
import os
import signal
import threading

import pytest
from joinstall.engine import snapshot, syscalls, watcher
from joinstall.observe import procfs

pytestmark = pytest.mark.integration


def test_a_snapshot_knows_both_ends_of_a_pipe_and_a_thread_blocked_writing_it() -> None:
    r, w = os.pipe()
    writer = threading.Thread(target=os.write, args=(w, b"x" * 200_000), daemon=True)
    writer.start()
    try:
        inode = os.fstat(r).st_ino
        me = snapshot.process(os.getpid())
        assert me is not None
        ends = {(f.fd, f.inode, f.readable, f.writable) for f in me.fds if f.kind == "pipe"}
        assert {(r, inode, True, False), (w, inode, False, True)} <= ends
        for _ in range(200):  # until the writer is asleep on the full pipe
            snap = snapshot.take([os.getpid()])
            me = snap.procs[0]
            blocked = [t for t in me.threads if t.tid == writer.native_id and t.state == "S"]
            if blocked and syscalls.name(blocked[0].syscall) == "write":
                break
        assert blocked and blocked[0].args[0] == w and "pipe_write" in blocked[0].wchan
        pipe = snap.pipe(inode)
        assert pipe is not None and pipe.capacity == 65536 and pipe.fill > 60_000
    finally:
        left = 200_000  # drain it, so that the write ends as a write should
        while left:
            left -= len(os.read(r, left))
        writer.join(5)
        os.close(r)
        os.close(w)


def test_pipe_state_measures_fill_and_capacity() -> None:
    r, w = os.pipe()
    try:
        os.write(w, b"x" * 1000)
        state = procfs.pipe_state(os.getpid(), w, os.fstat(w).st_ino)
        assert state is not None and state.fill == 1000 and state.capacity >= 4096
    finally:
        os.close(r)
        os.close(w)


def test_the_tree_is_walked_parents_first() -> None:
    assert watcher.tree(os.getpid())[0] == os.getpid()
    assert watcher.tree(2**22 + 12345) == []


def test_parse_syscall_forms() -> None:
    assert procfs.parse_syscall("running") == (-1, ())
    assert procfs.parse_syscall("-1 0x7ffc 0x7f00") == (-1, ())
    nr, args = procfs.parse_syscall("1 0x5 0x7f00 0x10004 0x0 0x0 0x0 0x7ffc 0x7f00")
    assert nr == 1 and args[0] == 5 and args[2] == 0x10004


def test_a_posix_timer_is_seen_with_its_signal_and_a_handler_in_the_mask() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    timer = ctypes.c_void_p()
    # No sigevent: the timer notifies with SIGALRM, as timer_create(2) documents.
    assert libc.timer_create(1, None, ctypes.byref(timer)) == 0, ctypes.get_errno()
    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    try:
        assert signal.SIGALRM in snapshot.timer_signals(os.getpid())
        me = snapshot.process(os.getpid())
        assert me is not None and signal.SIGALRM in me.timer_signals
        assert me.caught >> (signal.SIGALRM - 1) & 1
    finally:
        signal.signal(signal.SIGALRM, previous)
        libc.timer_delete(timer)
    assert signal.SIGALRM not in snapshot.timer_signals(os.getpid())
