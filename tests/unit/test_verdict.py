"""The verdict replayed on real recorded snapshots: no process is started here."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from joinstall.observe import syscalls
from joinstall.observe.procfs import PipeEnd, PipeState, ProcState, Snapshot, ThreadState
from joinstall.observe.verdict import StallEvidence, Verdict, classify, describe, prove_stall

RECORDINGS = Path(__file__).parent.parent / "fixtures" / "snapshots"
WRITE = next(iter(syscalls.WRITES))
READ = next(iter(syscalls.READS))
POLL = next(nr for nr, n in syscalls.NAMES.items() if n == "poll")


def load(name: str) -> list[Snapshot]:
    return [Snapshot.from_dict(s) for s in json.loads((RECORDINGS / f"{name}.json").read_text())]


def first_proof(snaps: list[Snapshot], window: float) -> tuple[int, StallEvidence] | None:
    for i in range(1, len(snaps) + 1):
        ev = prove_stall(snaps[:i], window)
        if ev is not None:
            return i, ev
    return None


def test_recorded_buggy_stall_is_proven_with_the_feeder_as_writer() -> None:
    snaps = load("buggy_1mib_stalled")
    found = first_proof(snaps, 0.02)
    assert found is not None
    _, ev = found
    writer = next(p for p in snaps[-1].procs if p.pid == ev.writer_pid)
    assert ev.writer_tid != writer.pid, "the feeder thread, not the main thread, is blocked"
    assert ev.syscall == "write"
    assert "pipe_write" in ev.wchan
    assert ev.capacity == 65536 and 0 < ev.fill <= ev.capacity
    assert ev.requested_bytes > 1 << 20
    reader_pids = {h.pid for h in ev.readers}
    assert writer.pid in reader_pids and writer.ppid in reader_pids, "parent and child hold the read end"


def test_recorded_simplequeue_stall_blocks_the_main_thread() -> None:
    found = first_proof(load("simplequeue_1mib_stalled"), 0.02)
    assert found is not None
    assert found[1].writer_tid == found[1].writer_pid


def test_recorded_fixed_run_is_never_called_a_stall() -> None:
    snaps = load("fixed_1mib_ok")
    assert len(snaps) >= 3
    assert first_proof(snaps, 0.0) is None


def test_proof_needs_the_whole_window() -> None:
    snaps = load("buggy_1mib_stalled")
    span = snaps[-1].t - snaps[0].t
    assert prove_stall(snaps, span + 1.0) is None


def _pair(fill: int, reader_syscall: int, reader_state: str = "S") -> Snapshot:
    child = ProcState(
        11, 10, "python", (),
        (ThreadState(11, "python", "S", 202, (), "futex"), ThreadState(12, "python", "S", WRITE, (4, 0, 70000), "pipe_write")),
        (PipeEnd(3, 99, False), PipeEnd(4, 99, True)),
    )  # fmt: skip
    parent = ProcState(
        10, 1, "python", (), (ThreadState(10, "python", reader_state, reader_syscall, (3,), ""),),
        (PipeEnd(3, 99, False),),
    )  # fmt: skip
    return Snapshot(0.0, (parent, child), (PipeState(99, fill, 65536),))


def series(fills: list[int], reader_syscall: int = POLL, state: str = "S") -> list[Snapshot]:
    return [dataclasses.replace(_pair(f, reader_syscall, state), t=i * 0.01) for i, f in enumerate(fills)]


def test_moving_fill_is_not_a_stall() -> None:
    assert prove_stall(series([1000, 2000, 3000, 4000]), 0.02) is None


def test_a_reader_in_read_on_the_pipe_is_not_a_stall() -> None:
    assert prove_stall(series([5000] * 5, reader_syscall=READ), 0.02) is None


def test_a_runnable_reader_is_not_a_stall() -> None:
    assert prove_stall(series([5000] * 5, state="R"), 0.02) is None


def test_steady_fill_and_sleeping_readers_is_a_stall() -> None:
    ev = prove_stall(series([5000] * 5), 0.02)
    assert ev is not None and ev.pipe_inode == 99 and ev.samples == 5
    assert StallEvidence.from_dict(dataclasses.asdict(ev)) == ev
    text = describe(ev, {10: "parent", 11: "child"})
    assert "child 11 thread 12 is blocked in write(70,000 bytes)" in text and "parent 10" in text


@pytest.mark.parametrize(
    ("result", "evidence", "code", "expected"),
    [
        ({"child_alive_after_join": True, "bytes_received": 5, "size": 5, "sha256_match": True}, None, 0, Verdict.STALLED),
        ({"child_alive_after_join": False, "bytes_received": 0, "size": 5, "sha256_match": False}, None, 0, Verdict.DATA_LOSS),
        ({"child_alive_after_join": False, "bytes_received": 5, "size": 5, "sha256_match": False}, None, 0, Verdict.DATA_LOSS),
        ({"child_alive_after_join": False, "bytes_received": 5, "size": 5, "sha256_match": True}, None, 0, Verdict.OK),
        ({"child_alive_after_join": False, "bytes_received": 5, "size": 5, "sha256_match": True}, None, 1, Verdict.ERROR),
        (None, None, 1, Verdict.ERROR),
    ],
)  # fmt: skip
def test_classify(result: dict[str, object] | None, evidence: None, code: int, expected: Verdict) -> None:
    assert classify(result, evidence, code) is expected


def test_classify_prefers_proof() -> None:
    ev = prove_stall(series([5000] * 5), 0.02)
    assert classify(None, ev, None) is Verdict.STALLED


def _chain(head_blocked: bool, t: float) -> Snapshot:
    """cat -> pipe 50 -> head -> pipe 60 -> python child (waiting in wait4)."""
    wait4 = next(nr for nr, n in syscalls.NAMES.items() if n == "wait4")
    cat = ProcState(20, 19, "cat", (), (ThreadState(20, "cat", "S", WRITE, (1, 0, 131072), "pipe_write"),),
                    (PipeEnd(1, 50, True),))  # fmt: skip
    head_thread = (
        ThreadState(21, "head", "S", WRITE, (1, 0, 4096), "pipe_write") if head_blocked
        else ThreadState(21, "head", "R", -1, (), "")
    )  # fmt: skip
    head = ProcState(21, 19, "head", (), (head_thread,), (PipeEnd(0, 50, False), PipeEnd(1, 60, True)))
    child = ProcState(
        11,
        10,
        "python",
        (),
        (ThreadState(11, "python", "S", wait4, (), "do_wait"),),
        (PipeEnd(5, 60, False),),
    )
    return Snapshot(t, (cat, head, child), (PipeState(50, 65536, 65536), PipeState(60, 65536, 65536)))


def test_a_chain_of_stalls_reports_its_end() -> None:
    snaps = [_chain(True, i * 0.01) for i in range(5)]
    ev = prove_stall(snaps, 0.02)
    assert ev is not None and ev.writer_pid == 21 and ev.pipe_inode == 60


def test_a_chain_waits_while_its_next_link_is_still_moving() -> None:
    snaps = [_chain(False, i * 0.01) for i in range(4)] + [_chain(True, 0.04)]
    assert prove_stall(snaps, 0.02) is None


def test_a_pipe_with_no_reader_in_sight_proves_nothing() -> None:
    """The reader may live outside the observed tree and drain the pipe slowly."""
    no_readers = [
        dataclasses.replace(
            snap,
            procs=tuple(
                dataclasses.replace(p, pipes=tuple(e for e in p.pipes if e.writable)) for p in snap.procs
            ),
        )
        for snap in series([5000] * 5)
    ]
    assert prove_stall(series([5000] * 5), 0.02) is not None
    assert prove_stall(no_readers, 0.02) is None


def test_a_timed_out_join_is_a_stall_only_when_nobody_watched() -> None:
    slow = {"child_alive_after_join": True, "bytes_received": 5, "size": 5, "sha256_match": True}
    assert classify(slow, None, 0, observed=False) is Verdict.STALLED
    assert classify(slow, None, 0, observed=True) is Verdict.OK
