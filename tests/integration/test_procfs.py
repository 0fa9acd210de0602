"""/proc observation of real pipes and threads in this very process."""

from __future__ import annotations

import os

import pytest
from joinstall.observe import procfs

pytestmark = pytest.mark.integration


def test_read_end_holders_finds_this_process() -> None:
    r, w = os.pipe()
    try:
        inode = os.fstat(r).st_ino
        assert procfs.read_end_holders(inode) == {os.getpid()}
        ends = {(e.inode, e.writable) for e in procfs.proc_state(os.getpid()).pipes}  # type: ignore[union-attr]
        assert {(inode, False), (inode, True)} <= ends
    finally:
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


def test_parse_syscall_forms() -> None:
    assert procfs.parse_syscall("running") == (-1, ())
    assert procfs.parse_syscall("-1 0x7ffc 0x7f00") == (-1, ())
    nr, args = procfs.parse_syscall("1 0x5 0x7f00 0x10004 0x0 0x0 0x0 0x7ffc 0x7f00")
    assert nr == 1 and args[0] == 5 and args[2] == 0x10004
