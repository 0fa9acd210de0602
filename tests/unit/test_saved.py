"""A saved diagnosis: its evidence tells the same words again, anywhere; bad files say what to do.

Everything here replays recordings (``tests/fixtures/snapshots``, ``tests/fixtures/spy``): no
process is started. ``joinstall explain`` on a real hang is in ``tests/integration/test_explain.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from joinstall import cli
from joinstall.analysis.series import waitgraph
from joinstall.commands import explain
from joinstall.engine import api, graph, saved, snapshot, waits
from joinstall.engine.diagnosis import Diagnosis, Verdict
from joinstall.engine.evidence import Evidence, moved
from joinstall.engine.snapshot import Snapshot
from joinstall.errors import UsageError
from joinstall.spy import stacks

FIXTURES = Path(__file__).parent.parent / "fixtures"
RECORDINGS = sorted(p.stem for p in (FIXTURES / "snapshots").glob("*.json"))
#: What the saved file of a 3-process hang may weigh at most.
MAX_BYTES = 200_000


def recorded(name: str, *, proven: bool = True) -> Evidence:
    """Two consecutive samples of a recording, as the watcher would keep them."""
    data: dict[str, Any] = json.loads((FIXTURES / "snapshots" / f"{name}.json").read_text())
    before, after = (Snapshot.from_dict(s) for s in data["snapshots"][:2])
    return Evidence(before, after, data["root"], waits.MIN_TIMED, frozenset(), frozenset(), proven, 2, 0.05)


def with_stacks() -> Diagnosis:
    """A 3-process stall (spawn: parent, resource tracker, child), named and with py-spy's stacks
    as ``capture_stacks`` leaves it: the dumps of a py-spy recording of the same program, moved
    onto the processes and threads of the /proc recording."""
    evidence = recorded("seed_join_timeout_spawn")
    rec: dict[str, Any] = json.loads((FIXTURES / "spy" / "py312_spawn_buggy.json").read_text())
    pids = {19334: 21427, 19337: 21429, 19338: 21430}
    tids = {**pids, 19358: 21431}
    dumps = {
        pids[int(pid)]: [
            dataclasses.replace(t, pid=pids[t.pid], os_thread_id=tids[t.tid])
            for t in stacks.parse(json.dumps(d))
        ]
        for pid, d in rec["dumps"].items()
    }
    named = api.labels(t for threads in dumps.values() for t in threads)
    return dataclasses.replace(evidence, labels=named).describe(
        stacks={str(pid): stacks.render(t) for pid, t in dumps.items()}
    )


def through_json(d: Diagnosis) -> Diagnosis:
    return saved.load(json.loads(json.dumps(saved.dump(d))))


def again(d: Diagnosis) -> Diagnosis:
    assert d.evidence is not None
    return d.evidence.describe(stacks=d.stacks, missing=d.missing)


@pytest.mark.parametrize("name", RECORDINGS)
def test_a_saved_recording_tells_the_same_words_again(name: str) -> None:
    original = recorded(name).describe()
    loaded = through_json(original)
    assert loaded == original and again(loaded) == original
    assert again(loaded).text(stacks=True) == original.text(stacks=True)


def test_py_spy_names_and_stacks_travel_with_the_evidence() -> None:
    original = with_stacks()
    assert "QueueFeederThread" in original.text() and original.stacks
    loaded = through_json(original)
    assert again(loaded).text(stacks=True) == original.text(stacks=True)
    assert loaded.evidence is not None and loaded.evidence.labels == original.evidence.labels  # type: ignore[union-attr]


def test_the_evidence_replays_the_watchers_analysis() -> None:
    evidence = recorded("seed_join_fork")
    assert evidence.before is not None
    expected = graph.analyse(waits.waits(evidence.after), live=moved(evidence.before, evidence.after))
    assert evidence.analyse() == expected
    d = evidence.describe()
    assert d.evidence is evidence and d.verdict is Verdict.STALLED


def test_a_knot_the_watcher_did_not_prove_is_never_proven_again() -> None:
    # The outside scan found a holder (or only one sample was taken): the samples alone
    # would close the cycle, but the verdict keeps what the watcher knew.
    d = recorded("seed_join_fork", proven=False).describe()
    assert d.verdict is Verdict.BLOCKED and not d.stuck_pids
    assert through_json(d) == d


def test_a_saved_file_of_a_3_process_hang_is_small(tmp_path: Path) -> None:
    d = with_stacks()
    assert d.evidence is not None and len(d.evidence.after.procs) == 3
    path = tmp_path / "hang.json"
    saved.write(path, d)
    assert path.stat().st_size <= MAX_BYTES
    assert saved.read(path) == d


def test_the_machine_is_recorded_once_and_kept(tmp_path: Path) -> None:
    me = snapshot.take([os.getpid()])
    d = Evidence(None, me, os.getpid(), 1.0, frozenset(), frozenset(), False, 1, 0.0).describe()
    doc = saved.dump(d)
    machine = doc["machine"]
    assert machine["kernel"] == os.uname().release and machine["page_size"] > 0
    mine = machine["processes"][str(os.getpid())]
    assert mine["exe"] == os.readlink("/proc/self/exe")
    assert mine.get("python") in (None, f"{sys.version_info[0]}.{sys.version_info[1]}")
    # Loaded elsewhere, later: the machine it was taken on travels, not the one saving it again.
    doc["machine"] = {"kernel": "elsewhere"}
    assert saved.dump(saved.load(doc))["machine"] == {"kernel": "elsewhere"}


def test_a_diagnosis_without_evidence_cannot_be_saved() -> None:
    d = Diagnosis.from_dict(recorded("lock_order").describe().to_dict())
    with pytest.raises(ValueError, match="no evidence"):
        saved.dump(d)


def refusal(path: Path) -> str:
    with pytest.raises(UsageError) as caught:
        saved.read(path)
    text = caught.value.message()
    assert "\n" not in text
    return text


def test_files_that_are_not_saved_diagnoses_are_refused_in_one_line(tmp_path: Path) -> None:
    good = json.dumps(saved.dump(recorded("lock_order").describe()))
    cases = {
        "newer.json": (json.dumps({**json.loads(good), "schema": saved.SCHEMA + 1}), "upgrade joinstall"),
        "cut.json": (good[: len(good) // 2], "cut short"),
        "list.json": ("[1, 2]", "not a joinstall saved diagnosis"),
        "results.jsonl": ('{"kind": "meta", "schema": 1}\n', "not a joinstall saved diagnosis"),
        "spy.json": (json.dumps(recorded("lock_order").describe().to_dict()), "without its evidence"),
        "notes.txt": ("my notes\n", "not JSON"),
        "empty.json": ("", "is empty"),
        "damaged.json": (good.replace('"after"', '"later"'), "damaged"),
    }
    for name, (content, said) in cases.items():
        (tmp_path / name).write_text(content)
        assert said in refusal(tmp_path / name), name
    assert "does not exist" in refusal(tmp_path / "absent.json")
    assert "Is a directory" in refusal(tmp_path)
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert "not JSON" in refusal(tmp_path / "image.png")


def test_a_file_that_is_not_a_saved_diagnosis_is_never_replaced(tmp_path: Path) -> None:
    d = recorded("lock_order").describe()
    notes, fifo = tmp_path / "notes.json", tmp_path / "fifo"
    notes.write_text("my notes\n")
    os.mkfifo(fifo)
    for target in (notes, fifo, tmp_path):
        with pytest.raises(UsageError):
            saved.write(target, d)
    assert notes.read_text() == "my notes\n"
    path = tmp_path / "hang.json"
    saved.write(path, d)
    saved.write(path, recorded("thread_pipe").describe())  # one of ours: replaced
    assert saved.read(path).verdict is Verdict.STALLED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "hang.json", "notes.json"]


def run_explain(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    args = cli.build_parser().parse_args(["explain", *argv])
    code = explain.run(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_says_first_when_it_reads_the_evidence_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = recorded("lock_order").describe()
    doc = saved.dump(d)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run_explain([str(path)], capsys)
    assert code == 0 and out == d.text() + "\n"
    # As if an older joinstall had called it blocked: the new verdict comes with a note.
    doc["diagnosis"]["verdict"] = "blocked"
    path.write_text(json.dumps(doc))
    code, out, _ = run_explain([str(path)], capsys)
    first, rest = out.split("\n", 1)
    assert "reads this evidence as deadlocked" in first and "which saved it, said blocked." in first
    assert rest == d.text() + "\n"
    code, out, err = run_explain([str(path), "--json"], capsys)
    assert json.loads(out) == json.loads(json.dumps(d.to_dict())) and "deadlocked" in err
    # A saved diagnosis this joinstall cannot read as such: computed again, and still compared.
    doc["diagnosis"]["schema"] = 0
    path.write_text(json.dumps(doc))
    code, out, _ = run_explain([str(path)], capsys)
    assert code == 0 and out.split("\n", 1) == [first, d.text() + "\n"]


def test_a_figure_of_another_format_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    for name in ("cycle.txt", "cycle", "cycle.pdf"):
        args = argparse.Namespace(
            figure=tmp_path / name, file=tmp_path / "absent.json", json=False, stacks=False
        )
        with pytest.raises(UsageError, match=r"\.svg or \.png"):
            explain.run(args)
    notes = tmp_path / "notes.svg"
    notes.write_text("not a picture\n")
    with pytest.raises(UsageError, match="would be overwritten"):
        explain.check_figure(notes)
    assert list(tmp_path.iterdir()) == [notes]


def test_the_figure_of_a_stall_is_its_cycle_in_order_on_a_circle() -> None:
    d = recorded("seed_join_timeout_spawn").describe()
    g = waitgraph.compute(d)
    ring = [waitgraph.key(t) for t in d.cycle_threads]
    cycle = [n for n in g.nodes if n.group == "cycle"]
    assert [n.key for n in cycle] == ring
    assert all(abs((n.x**2 + n.y**2) ** 0.5 - waitgraph.INNER) < 1e-6 for n in cycle)
    assert (cycle[0].x, cycle[0].y) == (0.0, 1.0)
    edges = [e for e in g.edges if e.group == "cycle"]
    assert [(e.source, e.target) for e in edges] == list(zip(ring, ring[1:] + ring[:1], strict=True))
    # The feeder writes the full pipe; the parent's join(60) polls the child's sentinel.
    assert [e.label.split(":[")[0] for e in edges] == ["write pipe", "poll pipe"]
    assert edges[1].label.endswith("(up to 60 s)")
    assert any(n.label == f"main thread of parent {d.root}" for n in cycle)
    # The tracker and the child's main thread wait behind it, on the outer circle, for the cycle.
    behind = [n for n in g.nodes if n.group == "behind"]
    assert {n.label.split(" of ")[1].rsplit(" ", 1)[0] for n in behind} == {"resource tracker", "child"}
    assert all(abs((n.x**2 + n.y**2) ** 0.5 - waitgraph.OUTER) < 1e-6 for n in behind)
    assert {e.target for e in g.edges if e.group == "behind"} <= set(ring)


def test_the_figure_of_a_seed_stall_labels_each_wait_briefly() -> None:
    g = waitgraph.compute(recorded("seed_join_fork").describe())
    assert [e.label.split(" pipe:")[0] for e in g.edges] == ["write", "wait4", "lock"]


def test_the_figure_names_a_socket_wait_by_its_call_and_socket() -> None:
    labels = [e.label for e in waitgraph.compute(recorded("tcp_recv_join_fork").describe()).edges]
    assert any(label.startswith("recvfrom socket:[") for label in labels), labels
    outside = waitgraph.compute(recorded("tcp_outside_server").describe())
    assert [n.group for n in outside.nodes if n.key == waitgraph.OUTSIDE] == ["outside"]


def test_the_figure_of_an_open_wait_shows_what_can_end_it() -> None:
    d = recorded("sleepy_reader_fork").describe()
    g = waitgraph.compute(d)
    assert d.verdict is Verdict.BLOCKED and g.title.startswith("BLOCKED")
    live = {n.key for n in g.nodes if n.group == "live"}
    assert live and all(e.target in live for e in g.edges if e.group == "live")
    assert {e.source for e in g.edges} <= {n.key for n in g.nodes if n.group == "blocked"}


def test_the_figure_without_evidence_draws_what_it_can_and_says_so() -> None:
    proven = Diagnosis.from_dict(recorded("seed_join_timeout_spawn").describe().to_dict())
    g = waitgraph.compute(proven)
    assert len(g.edges) == len(proven.cycle_threads) and "without its evidence" in g.note
    running = dataclasses.replace(proven, verdict=Verdict.RUNNING, cycle_threads=(), threads=())
    assert waitgraph.compute(running).nodes == () and waitgraph.compute(running).note == "no thread waits"
