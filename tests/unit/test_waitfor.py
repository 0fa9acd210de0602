"""The wait-for graph and its cycle, on real /proc snapshots recorded with the py-spy dumps.

Each recording holds the snapshot on which the stall was proven, the harness's evidence, and
the parent and child PIDs the program printed. The cycle must name exactly those PIDs and the
pipe of the evidence, with py-spy labels and without them (from /proc alone).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from joinstall.observe import syscalls
from joinstall.observe.procfs import ProcState, Snapshot, ThreadState
from joinstall.observe.verdict import StallEvidence
from joinstall.spy import labels as spylabels
from joinstall.spy import stacks, text, waits, words
from joinstall.spy.graph import Edge, Graph, Kind, PipeNode, ThreadNode, feeding, find_cycle
from joinstall.spy.labels import Classified
from joinstall.spy.roles import roles as roles_of

FIXTURES = Path(__file__).parent.parent / "fixtures" / "spy"
QUEUE = sorted(p for p in FIXTURES.glob("py3*.json") if "popen_wait" not in p.name)
POPEN = sorted(FIXTURES.glob("py3*_popen_wait.json"))
READ = next(iter(syscalls.READS))
WAIT4 = next(nr for nr, n in syscalls.NAMES.items() if n == "wait4")
RESTART = next(nr for nr, n in syscalls.NAMES.items() if n == "restart_syscall")


def load(path: Path) -> tuple[dict[str, Any], Snapshot, StallEvidence, dict[tuple[int, int], Classified]]:
    rec: dict[str, Any] = json.loads(path.read_text())
    labels = spylabels.of(t for dump in rec["dumps"].values() for t in stacks.parse(json.dumps(dump)))
    return rec, Snapshot.from_dict(rec["snapshot"]), StallEvidence.from_dict(rec["evidence"]), labels


def cycle_of(
    snap: Snapshot, ev: StallEvidence, labels: dict[tuple[int, int], Classified], parent: int
) -> tuple[Graph, tuple[Edge, ...]]:
    graph = waits.build(snap, labels, parent)
    cycle = find_cycle(graph, ThreadNode(ev.writer_pid, ev.writer_tid))
    assert cycle is not None, [e.to_dict() for e in graph.edges]
    return graph, cycle


@pytest.mark.parametrize("with_spy", [True, False], ids=["py-spy", "proc-only"])
@pytest.mark.parametrize("path", QUEUE, ids=lambda p: p.stem)
def test_queue_cycle_names_the_parent_child_and_pipe(path: Path, with_spy: bool) -> None:
    rec, snap, ev, labels = load(path)
    parent, child = rec["parent"], rec["child"]
    graph, cycle = cycle_of(snap, ev, labels if with_spy else {}, parent)
    kinds = [e.kind for e in cycle]
    # Told from the parent: it waits for the child ... and only it could read the pipe.
    assert cycle[0].kind is Kind.WAITS_EXIT and cycle[0].src == ThreadNode(parent, parent)
    assert cycle[0].dst == ThreadNode(child, child)
    assert cycle[-1].kind is Kind.DRAINED_BY and cycle[-1].dst == ThreadNode(parent, parent)
    writes = next(e for e in cycle if e.kind is Kind.WRITES)
    assert writes.src == ThreadNode(ev.writer_pid, ev.writer_tid) and writes.dst == PipeNode(ev.pipe_inode)
    assert ev.writer_pid == child
    if rec["variant"] == "simplequeue":
        assert kinds == [Kind.WAITS_EXIT, Kind.WRITES, Kind.DRAINED_BY]
    else:
        assert kinds == [Kind.WAITS_EXIT, Kind.JOINS_THREAD, Kind.WRITES, Kind.DRAINED_BY]
        assert cycle[1].dst == ThreadNode(child, ev.writer_tid), "the child joins the very thread that writes"
    text = words.render(graph, cycle)
    assert f"parent {parent}" in text and f"child {child}" in text and f"pipe:[{ev.pipe_inode}]" in text
    assert f"{ev.requested_bytes:,} bytes" in text and f"{ev.fill:,}/{ev.capacity:,}" in text
    if with_spy:
        assert "(MainThread)" in text and "waiting in join()" in text
        assert all(e.confirmed for e in cycle)
        if rec["variant"] == "buggy":
            assert "waits for its QueueFeederThread → QueueFeederThread is blocked writing" in text
    else:
        assert "asleep in poll" in text
        assert not cycle[0].confirmed, "without py-spy, poll + sentinel is an inference"
    json.dumps([e.to_dict() for e in cycle])


@pytest.mark.parametrize("path", [p for p in QUEUE if "forkserver" in p.name], ids=lambda p: p.stem)
def test_forkserver_roles_and_sentinel_through_the_forkserver(path: Path) -> None:
    rec, snap, ev, _labels = load(path)
    roles = roles_of(snap, rec["parent"])
    assert roles[rec["child"]] == "child"
    assert sorted(roles.values()) == ["child", "forkserver", "parent", "resource tracker"]
    _graph, cycle = cycle_of(snap, ev, {}, rec["parent"])
    assert "forkserver" in cycle[0].basis, "the parent's sentinel is written by the forkserver"


@pytest.mark.parametrize("with_spy", [True, False], ids=["py-spy", "proc-only"])
@pytest.mark.parametrize("path", POPEN, ids=lambda p: p.stem)
def test_popen_wait_cycle_runs_through_the_shell_pipeline(path: Path, with_spy: bool) -> None:
    rec, snap, ev, labels = load(path)
    graph, cycle = cycle_of(snap, ev, labels if with_spy else {}, rec["parent"])
    child = rec["child"]
    sh = next(p.pid for p in snap.procs if p.name == "sh")
    head = next(p.pid for p in snap.procs if p.name == "head")
    assert [e.src for e in cycle if isinstance(e.src, ThreadNode)] == [
        ThreadNode(child, child), ThreadNode(sh, sh), ThreadNode(head, head)
    ]  # fmt: skip
    assert all(e.confirmed for e in cycle), "wait4 names its pid: no inference needed"
    behind = feeding(graph, cycle)
    assert ThreadNode(rec["parent"], rec["parent"]) in {e.src for e in behind}
    text = words.render(graph, cycle)
    assert text.startswith(f"child {child}") and f"sh {sh} waits for head {head} to exit" in text
    assert ("subprocess.Popen.wait()" in text) is with_spy


def test_restarted_poll_after_a_ptrace_stop_still_closes_the_cycle() -> None:
    rec, snap, ev, _ = load(FIXTURES / "py311_fork_buggy.json")
    parent = snap.proc(rec["parent"])
    assert parent is not None
    restarted = dataclasses.replace(parent.threads[0], syscall=RESTART, args=())
    procs = tuple(dataclasses.replace(p, threads=(restarted,)) if p is parent else p for p in snap.procs)
    _graph, cycle = cycle_of(dataclasses.replace(snap, procs=procs), ev, {}, rec["parent"])
    assert "restart_syscall" in cycle[0].basis


def test_a_parent_that_reads_breaks_the_cycle() -> None:
    rec, snap, ev, labels = load(FIXTURES / "py311_fork_buggy.json")
    parent = snap.proc(rec["parent"])
    assert parent is not None
    read_fd = next(e.fd for e in parent.pipes if e.inode == ev.pipe_inode and not e.writable)
    reading = dataclasses.replace(
        parent.threads[0], syscall=0, args=(read_fd, 0, 65536), wchan="anon_pipe_read"
    )
    procs = tuple(dataclasses.replace(p, threads=(reading,)) if p is parent else p for p in snap.procs)
    labels = {k: v for k, v in labels.items() if k[0] != rec["parent"]}
    graph = waits.build(dataclasses.replace(snap, procs=procs), labels, rec["parent"])
    assert find_cycle(graph) is None
    # The text then lists the waits it did find, instead of a cycle.
    found = words.render_chain(graph, [e for e in graph.edges if e.kind is not Kind.DRAINED_BY])
    assert any("waits for its QueueFeederThread" in w for w in found), found
    result = {
        "processes": [],
        "cycle_text": None,
        "open_waits": found,
        "threads": [],
        "missing": [],
        "fix": "-",
    }
    assert text.render(result).startswith(
        f"WAIT-FOR CYCLE: not closed from what could be seen; waits found: {found[0]}"
    )


def test_wait4_minus_one_waits_for_every_child() -> None:
    assert waits._signed32(0xFFFFFFFF) == -1 and waits._signed32(1234) == 1234
    sh = ProcState(
        10, 1, "sh", ("sh",), (ThreadState(10, "sh", "S", 61, (0xFFFFFFFF, 0, 0, 0, 0, 0), "do_wait"),), ()
    )
    kids = [
        ProcState(pid, 10, "x", ("x",), (ThreadState(pid, "x", "S", 0, (0,), ""),), ()) for pid in (11, 12)
    ]
    graph = waits.build(Snapshot(0.0, (sh, *kids), ()), {}, None)
    assert {e.dst for e in graph.edges} == {ThreadNode(11, 11), ThreadNode(12, 12)}


def test_a_label_other_than_join_vetoes_the_poll_inference() -> None:
    # The forkserver also sleeps in a poll-like call, but py-spy says it is not joining.
    rec, snap, _ev, labels = load(FIXTURES / "py311_forkserver_buggy.json")
    roles = roles_of(snap, rec["parent"])
    server = next(pid for pid, r in roles.items() if r == "forkserver")
    graph = waits.build(snap, labels, rec["parent"])
    assert not [e for e in graph.edges if e.src == ThreadNode(server, server)]
