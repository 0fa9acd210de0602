"""py-spy on real hung trees: thread labels, the wait-for cycle, ``spy --pid``, and the fallbacks.

Every tree here really hangs (1 MiB through a 64 KiB pipe) and is killed and reaped by the
harness or by ``helpers.started``. The fallbacks use the real program and the real /proc; only
py-spy's answer is simulated, by small scripts that print what py-spy prints (EPERM) or never
answer (a hung py-spy).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from joinstall import harness
from joinstall.observe import procfs
from joinstall.observe.verdict import Verdict
from joinstall.records import RunResult, RunSpec
from joinstall.spy import capture, pyspy, stacks, target

from tests.integration.helpers import ROOT, joinstall, started, usage_error, wait_gone

pytestmark = pytest.mark.integration
SEED = ROOT / "repro" / "programs" / "seed.py"
MIB = 1 << 20
PERMISSION_DENIED = (
    "Permission Denied: Try running again with elevated permissions by going 'sudo env \"PATH=$PATH\" !!'"
)


def fake_pyspy(tmp_path: Path, body: str) -> str:
    script = tmp_path / "py-spy"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def labels(diag: dict[str, Any]) -> dict[tuple[int, str | None], str | None]:
    return {(t["pid"], t["name"]): t["label"] for t in diag["threads"]}


def check_cycle(result: RunResult) -> list[dict[str, Any]]:
    """The cycle names the parent and child the harness saw, and the pipe of its evidence."""
    assert result.diagnosis is not None and result.evidence is not None
    parent, child = result.pids["parent"], result.pids["child"]
    ev = result.evidence
    cycle: list[dict[str, Any]] = result.diagnosis["cycle"]
    assert next(e["kind"] for e in cycle) == "waits_exit"
    assert cycle[0]["from"] == {"pid": parent, "tid": parent} and cycle[0]["to"]["pid"] == child
    writes = next(e for e in cycle if e["kind"] == "writes")
    assert writes["from"] == {"pid": ev.writer_pid, "tid": ev.writer_tid} and writes["to"] == {
        "pipe": ev.pipe_inode
    }
    assert cycle[-1]["kind"] == "drained_by" and cycle[-1]["to"]["pid"] == parent
    text = result.diagnosis["text"]
    assert f"parent {parent}" in text and f"child {child}" in text and f"pipe:[{ev.pipe_inode}]" in text
    return cycle


@pytest.mark.timeout(60)
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_harness_captures_labels_and_the_cycle(method: str) -> None:
    result = harness.run(RunSpec(variant="buggy", size=MIB, timeout=30, start_method=method, spy=True))
    assert result.verdict is Verdict.STALLED and result.diagnosis is not None
    diag = result.diagnosis
    parent, child = result.pids["parent"], result.pids["child"]
    got = labels(diag)
    assert got[(parent, "MainThread")] == "join"
    assert got[(child, "MainThread")] == "exit_wait"
    assert got[(child, "QueueFeederThread")] == "feeder_write"
    cycle = check_cycle(result)
    assert [e["kind"] for e in cycle] == ["waits_exit", "joins_thread", "writes", "drained_by"]
    assert all(e["confirmed"] for e in cycle) and diag["confirmed"]
    assert "waits for its QueueFeederThread → QueueFeederThread is blocked writing" in diag["text"]
    assert "waiting in join()" in diag["text"] and "FIX: drain the queue" in diag["text"]
    assert diag["missing"] == []
    # The raw JSON is kept, one dump per Python process of the tree, and a readable rendering.
    assert {str(parent), str(child)} <= set(diag["stacks"])
    assert set(diag["stacks_text"]) == set(diag["stacks"])
    for pid, raw in diag["stacks"].items():
        threads = stacks.parse(raw)
        assert threads and diag["stacks_text"][pid] == stacks.render(threads)
    assert "BaseProcess.join (multiprocessing/process.py:" in diag["stacks_text"][str(parent)]
    assert "QueueFeederThread (tid " in diag["stacks_text"][str(child)]
    if method != "fork":
        assert "resource tracker" in {t["role"] for t in diag["threads"]}
    if method == "forkserver":
        assert "forkserver" in {t["role"] for t in diag["threads"]}
    json.dumps(result.to_dict())


@pytest.mark.timeout(60)
def test_harness_labels_simplequeue_and_popen_wait() -> None:
    sq = harness.run(RunSpec(variant="simplequeue", size=MIB, timeout=30, start_method="fork", spy=True))
    assert sq.diagnosis is not None
    assert labels(sq.diagnosis)[(sq.pids["child"], "MainThread")] == "put_write"
    assert [e["kind"] for e in check_cycle(sq)] == ["waits_exit", "writes", "drained_by"]

    pw = harness.run(RunSpec(variant="popen_wait", size=MIB, timeout=30, start_method="fork", spy=True))
    assert pw.diagnosis is not None
    diag = pw.diagnosis
    assert labels(diag)[(pw.pids["child"], "MainThread")] == "subprocess_wait"
    # sh, cat and head are listed, not dumped, and do not abort the capture.
    listed = {p["name"] for p in diag["processes"] if not p["python"]}
    assert {"sh", "cat", "head"} <= listed and diag["missing"] == []
    assert diag["cycle"][0]["from"]["pid"] == pw.pids["child"]
    assert "NOT PYTHON" in diag["text"] and "communicate()" in diag["fix"]
    assert f"parent {pw.pids['parent']}" in "\n".join(diag["blocked_behind"])


@pytest.mark.timeout(60)
def test_harness_without_py_spy_still_closes_the_cycle_from_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pyspy.PYSPY_ENV, "/nonexistent/py-spy")
    result = harness.run(RunSpec(variant="buggy", size=MIB, timeout=30, start_method="fork", spy=True))
    assert result.diagnosis is not None
    diag = result.diagnosis
    cycle = check_cycle(result)
    assert [e["kind"] for e in cycle] == ["waits_exit", "joins_thread", "writes", "drained_by"]
    assert not diag["confirmed"] and diag["stacks"] == {} and diag["stacks_text"] == {}
    assert {m["problem"] for m in diag["missing"]} == {"missing"}
    assert "/proc alone" in diag["text"] and "install py-spy" in diag["text"]
    assert all(t["source"] == "/proc" for t in diag["threads"])


def program(*extra: str) -> tuple[str, ...]:
    return (sys.executable, str(SEED), "--size", str(MIB), "--timeout", "60", *extra)


def child_pid(proc: Any) -> int:
    """The program prints its child's PID before the child puts anything (read it once per program)."""
    fd = proc.stdout.fileno()
    # Why os.read: a non-blocking text stream raises instead of returning "" before any output.
    os.set_blocking(fd, False)
    deadline, text = time.monotonic() + 10, ""
    while time.monotonic() < deadline:
        with contextlib.suppress(BlockingIOError):
            text += os.read(fd, 65536).decode()
        m = re.search(r"CHILD: PID is (\d+)", text)
        if m:
            return int(m.group(1))
        time.sleep(0.01)
    raise AssertionError(f"no CHILD line in {text!r}")


def tracers(pids: list[int]) -> set[int]:
    out = set()
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            out |= {int(line.split()[1]) for line in f if line.startswith("TracerPid:")}
    return out


@pytest.mark.timeout(60)
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_spy_pid_diagnoses_a_tree_it_did_not_start(method: str) -> None:
    with started(*program("--start-method", method)) as proc:
        done = joinstall("spy", "--pid", str(proc.pid), "--json", "--budget", "20")
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        child = child_pid(proc)
        assert out["verdict"] == "stalled" and out["pid"] == proc.pid
        assert out["evidence"]["writer_pid"] == child
        cycle = out["cycle"]
        assert cycle[0]["from"]["pid"] == proc.pid and cycle[0]["to"]["pid"] == child
        assert next(e for e in cycle if e["kind"] == "writes")["to"]["pipe"] == out["evidence"]["pipe_inode"]
        assert labels(out)[(proc.pid, "MainThread")] == "join"
        # Nothing is left attached, and the tree is still hung exactly as before.
        tree = procfs.tree(proc.pid)
        assert child in tree and tracers(tree) == {0}
        assert proc.poll() is None


@pytest.mark.timeout(60)
def test_spy_pid_prints_verdict_cycle_and_fix() -> None:
    with started(*program()) as proc:
        done = joinstall("spy", "--pid", str(proc.pid), "--budget", "20")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith("VERDICT: stalled — proven:")
        assert lines[1].startswith("WAIT-FOR CYCLE (py-spy + /proc): parent ")
        assert "FIX: drain the queue before joining" in done.stdout
        assert lines[-1] == "STACKS: add --stacks to print py-spy's full stack of every thread"
        full = joinstall("spy", "--pid", str(proc.pid), "--budget", "20", "--stacks")
        assert full.returncode == 0, full.stderr
        block = full.stdout.split(f"STACKS of parent {proc.pid}:\n", 1)[1]
        assert (
            block.startswith("  MainThread (tid ")
            and "BaseProcess.join (multiprocessing/process.py:" in block
        )
        assert f"STACKS of child {child_pid(proc)}:" in full.stdout


@pytest.mark.timeout(60)
def test_the_harness_entry_point_takes_native_and_locals() -> None:
    # The harness calls capture.capture(snapshot, evidence, parent, native=..., locals_=...).
    with started(*program()) as proc:
        sampler = target.sample(proc.pid, budget=20)
        assert sampler.evidence is not None
        diag = capture.capture(sampler.snaps[-1], sampler.evidence, proc.pid, native=True, locals_=True)
        assert diag is not None and diag["cycle"] and diag["missing"] == []
        parent = diag["stacks_text"][str(proc.pid)]
        assert "[native]" in parent, "--native adds the C frames"
        assert re.search(r"^        timeout = ", parent, re.M), "--locals adds join()'s arguments"
        assert capture.capture(sampler.snaps[-1], None, proc.pid) is None, "no evidence, no capture"


@pytest.mark.timeout(60)
def test_a_process_we_may_not_read_is_left_out_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another user's process in the tree: procfs.proc_state gives None for it (EACCES on its
    # fd table). Simulated by hiding `cat` of the popen_wait pipeline, as if it ran under sudo.
    real = procfs.proc_state

    def not_ours(pid: int) -> procfs.ProcState | None:
        state = real(pid)
        return None if state is not None and state.name == "cat" else state

    monkeypatch.setattr(procfs, "proc_state", not_ours)
    with started(*program("--variant", "popen_wait")) as proc:
        out = target.diagnose(proc.pid, budget=20)
        assert out["verdict"] == "stalled"
        names = {p["name"] for p in out["processes"]}
        assert "cat" not in names and {"sh", "head"} <= names
        hidden = [s for s in map(real, procfs.tree(proc.pid)) if s is not None and s.name == "cat"]
        assert hidden, "cat was in the tree all along, only hidden"
        assert out["cycle"] and "communicate()" in out["fix"]


@pytest.mark.timeout(60)
def test_spy_pid_without_py_spy_gives_the_verdict_from_proc() -> None:
    with started(*program()) as proc:
        done = joinstall("spy", "--pid", str(proc.pid), "--budget", "20", "--py-spy", "/nonexistent/py-spy")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("VERDICT: stalled")
        assert "WAIT-FOR CYCLE (/proc alone): parent " in done.stdout
        assert "MISSING py-spy stacks of parent" in done.stdout and "install py-spy" in done.stdout


@pytest.mark.timeout(60)
def test_spy_pid_when_ptrace_is_refused(tmp_path: Path) -> None:
    fake = fake_pyspy(tmp_path, f"echo {json.dumps(PERMISSION_DENIED)} >&2\nexit 1")
    with started(*program()) as proc:
        done = joinstall(
            "spy", "--pid", str(proc.pid), "--budget", "20", "--json", env={pyspy.PYSPY_ENV: fake}
        )
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert {m["problem"] for m in out["missing"]} == {"permission"}
        assert "SYS_PTRACE" in out["text"] and "ptrace_scope" in out["text"]
        assert out["cycle"][0]["from"]["pid"] == proc.pid, "the cycle still closes from /proc"


@pytest.mark.timeout(60)
def test_spy_pid_of_the_child_points_at_the_parent_that_holds_the_read_end() -> None:
    # From the child's tree alone the pipe looks undrained, but the parent, outside that
    # tree, holds its read end: that proves nothing, and the way out is the parent's PID.
    with started(*program()) as proc:
        child = child_pid(proc)
        line = usage_error(joinstall("spy", "--pid", str(child), "--budget", "0.5"))
        assert line.startswith("joinstall spy: error: not stalled:"), line
        assert f"PID {proc.pid} outside PID {child}'s tree can read it: pass --pid {proc.pid}" in line


@pytest.mark.timeout(60)
def test_a_hung_py_spy_is_killed_at_its_bound(tmp_path: Path) -> None:
    # The script's sleep is a grandchild of ours: the kill must reach py-spy's whole group.
    marker = tmp_path / "sleep.pid"
    fake = fake_pyspy(tmp_path, f"sleep 30 &\necho $! > {marker}\nwait")
    with started(*program()) as proc:
        sampler = target.sample(proc.pid, budget=20)
        assert sampler.evidence is not None
        start = time.monotonic()
        diag = capture.capture(sampler.snaps[-1], sampler.evidence, proc.pid, binary=fake, timeout=0.5)
        took = time.monotonic() - start
        assert diag is not None
        assert took < 3.0, f"capture took {took:.2f} s with a 0.5 s bound"
        assert {m["problem"] for m in diag["missing"]} == {"timeout"}
        assert diag["cycle"], "the verdict and cycle do not depend on py-spy"
        sleepers = [int(line) for line in marker.read_text().split()]
        assert sleepers and wait_gone(sleepers, 5) == [], "the hung py-spy's child survived"


@pytest.mark.timeout(60)
def test_spy_cli_with_a_hung_py_spy_finishes(tmp_path: Path) -> None:
    fake = fake_pyspy(tmp_path, "sleep 30")
    with started(*program()) as proc:
        start = time.monotonic()
        done = joinstall(
            "spy", "--pid", str(proc.pid), "--budget", "20", "--spy-timeout", "0.5", "--py-spy", fake
        )
        assert time.monotonic() - start < 15
        assert done.returncode == 0, done.stderr
        assert "gave no answer within 0.5 s" in done.stdout


@pytest.mark.timeout(60)
def test_spy_bad_inputs_exit_2_with_one_line() -> None:
    assert "no process with PID" in usage_error(joinstall("spy", "--pid", "999999999"))
    assert "positive" in usage_error(joinstall("spy", "--pid", "0"))
    usage_error(joinstall("spy", "--pid", "abc"))
    usage_error(joinstall("spy", "--pid", "1", "--spy-timeout", "-1"))
    with started("sleep", "30") as sleeper:
        assert "is not a Python process" in usage_error(joinstall("spy", "--pid", str(sleeper.pid)))
    with started(sys.executable, "-c", "import time; time.sleep(30)") as idle:
        line = usage_error(joinstall("spy", "--pid", str(idle.pid), "--budget", "0.3"))
        assert "not stalled:" in line and "clock_nanosleep" in line
