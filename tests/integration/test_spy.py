"""``joinstall spy --pid`` and the py-spy capture on trees joinstall did not start.

The contract: exit 0 when a hang is proven (stalled, deadlocked), 1 when none is (blocked,
running), 2 for bad input only; with ``--json`` stdout is always one JSON document; text fits
100 columns. py-spy only names threads: without it, or when it fails, the verdict stands.
"""

from __future__ import annotations

import json
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from joinstall import harness, interpreters
from joinstall.engine import Verdict, capture_stacks, diagnose
from joinstall.observe.verdict import Verdict as RunVerdict
from joinstall.records import RunSpec
from joinstall.spy import pyspy

from tests.integration.helpers import ROOT, joinstall, started, usage_error, wait_gone

pytestmark = pytest.mark.integration
CORPUS = ROOT / "tests" / "engine_corpus"
PERMISSION_DENIED = (
    "Permission Denied: Try running again with elevated permissions by going 'sudo env \"PATH=$PATH\" !!'"
)


def fake_pyspy(tmp_path: Path, body: str) -> str:
    script = tmp_path / "py-spy"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def corpus(name: str, *args: str, python: str = sys.executable) -> list[str]:
    return [python, str(CORPUS / f"{name}.py"), *args]


def ready(proc: Any) -> None:
    assert proc.stdout.readline().strip() == "READY"


def spy(pid: int, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    done = joinstall("spy", "--pid", str(pid), "--json", *args, env=env)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_spy_proves_the_seed_it_did_not_start_and_names_its_threads(method: str) -> None:
    with started(*corpus("seed_join_timeout", method)) as proc:
        ready(proc)
        done = joinstall("spy", "--pid", str(proc.pid), "--budget", "10")
        assert done.returncode == 0, done.stdout + done.stderr
        text = done.stdout
        assert text.startswith("STALLED: ") and "until its timeout ends" in text
        assert "QueueFeederThread" in text and "is blocked writing 1,000,009 bytes" in text
        assert f"the main thread of parent {proc.pid} (joining a child process" in text
        assert "Fix: drain the queue before joining" in text
        assert all(len(line) <= 100 for line in text.splitlines()), text


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("name", "verdict"),
    [("lock_order", "deadlocked"), ("event_nobody", "deadlocked"), ("thread_pipe", "stalled")],
)
def test_spy_proves_other_families_with_exit_0(name: str, verdict: str) -> None:
    with started(*corpus(name)) as proc:
        ready(proc)
        code, out = spy(proc.pid, "--budget", "10")
        assert (code, out["verdict"]) == (0, verdict), out["text"]
        assert out["schema"] == 1 and out["kind"] == "diagnosis" and out["cycle"] and out["fix"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["sleepy_reader", "busy_reader", "drain_thread"])
def test_a_live_tree_is_not_hung_exit_1_and_json_still(name: str) -> None:
    with started(*corpus(name, "fork")) as proc:
        ready(proc)
        code, out = spy(proc.pid, "--budget", "0.8")
        assert code == 1 and out["verdict"] in ("blocked", "running"), out["text"]
        assert not out["cycle"] and not out["stuck_pids"]
        if out["verdict"] == "blocked":
            assert "can still act" in out["breaker"] or "outside the tree" in out["breaker"]


@pytest.mark.timeout(60)
def test_spy_of_the_child_pulls_in_the_parent_that_holds_the_read_end() -> None:
    # From the child's tree alone, the queue's read end is also held outside: by the parent,
    # which the engine adds to the graph before it proves anything.
    with started(*corpus("seed_join", "fork")) as proc:
        ready(proc)
        code, out = spy(proc.pid, "--no-stacks", "--budget", "5")
        child = next(t["pid"] for t in out["threads"] if t["wait"] == "pipe_write")
        code, out = spy(child, "--no-stacks", "--budget", "5")
        assert code == 0 and out["verdict"] == "stalled", out["text"]
        assert proc.pid in out["stuck_pids"]


@pytest.mark.timeout(60)
def test_without_py_spy_the_verdict_comes_from_proc_alone() -> None:
    with started(*corpus("seed_join", "fork")) as proc:
        ready(proc)
        code, out = spy(proc.pid, env={pyspy.PYSPY_ENV: "/nonexistent/py-spy"})
        assert code == 0 and out["verdict"] == "stalled"
        assert out["missing"] and "py-spy" in out["missing"][0]
        assert not out["stacks"]


@pytest.mark.timeout(60)
def test_when_ptrace_is_refused_the_fix_is_named(tmp_path: Path) -> None:
    fake = fake_pyspy(tmp_path, f"echo {json.dumps(PERMISSION_DENIED)} >&2\nexit 1")
    with started(*corpus("seed_join", "fork")) as proc:
        ready(proc)
        code, out = spy(proc.pid, "--py-spy", fake)
        assert code == 0 and out["verdict"] == "stalled"
        assert "SYS_PTRACE" in out["text"] and "ptrace_scope" in out["text"]


@pytest.mark.timeout(60)
def test_a_hung_py_spy_is_killed_at_its_bound(tmp_path: Path) -> None:
    # The script's sleep is a grandchild of ours: the kill must reach py-spy's whole group.
    marker = tmp_path / "sleep.pid"
    fake = fake_pyspy(tmp_path, f"sleep 30 &\necho $! > {marker}\nwait")
    with started(*corpus("seed_join", "fork")) as proc:
        ready(proc)
        found = diagnose(proc.pid, budget=10, stacks=False)
        assert found.proven
        start = time.monotonic()
        d = capture_stacks(found, binary=fake, timeout=0.5)
        assert time.monotonic() - start < 3.0
        assert d.proven and d.cycle and any("no answer within 0.5 s" in m for m in d.missing)
        sleepers = [int(line) for line in marker.read_text().split()]
        assert sleepers and wait_gone(sleepers, 5) == [], "the hung py-spy's child survived"


@pytest.mark.timeout(60)
def test_python_38_threads_are_named_by_a_blocking_dump_once_proven() -> None:
    found, _ = interpreters.discover()
    old = next((i for i in found if i.minor == "3.8"), None)
    if old is None:
        pytest.skip("no CPython 3.8 on this machine")
    with started(*corpus("seed_join", "fork", python=old.path)) as proc:
        ready(proc)
        d = diagnose(proc.pid, budget=10)
        assert d.proven
        assert any(t.name.startswith("QueueFeederThread") for t in d.threads), d.text()


@pytest.mark.timeout(60)
def test_run_spy_captures_the_stacks_of_every_start_method() -> None:
    for method in ("fork", "spawn", "forkserver"):
        result = harness.run(RunSpec(variant="buggy", size=1 << 20, spy=True, start_method=method))
        assert result.verdict is RunVerdict.STALLED and result.proof is not None
        assert result.proof.verdict is Verdict.STALLED and result.proof.stacks
        assert "Queue._feed" in "\n".join(result.proof.stacks.values())


@pytest.mark.timeout(60)
def test_spy_bad_inputs_exit_2_with_one_line() -> None:
    assert "no process with PID" in usage_error(joinstall("spy", "--pid", "999999999"))
    assert "positive" in usage_error(joinstall("spy", "--pid", "0"))
    usage_error(joinstall("spy", "--pid", "abc"))
    usage_error(joinstall("spy", "--pid", "1", "--spy-timeout", "-1"))


@pytest.mark.timeout(60)
def test_a_non_python_tree_is_diagnosed_too() -> None:
    # A shell pipeline nobody reads: ``sh`` waits for ``cat``, which writes into a full pipe that
    # only the waiting shell could read.
    with started("sh", "-c", "cat /dev/zero | (sleep 30; cat >/dev/null)") as proc:
        time.sleep(0.3)
        code, out = spy(proc.pid, "--budget", "0.5")
        assert code == 1 and out["verdict"] == "blocked", out["text"]


@pytest.mark.timeout(60)
def test_py_spy_names_the_roles_of_a_pool_and_of_a_thread_join() -> None:
    with started(*corpus("pool_queue", "fork", "8")) as proc:
        ready(proc)
        d = diagnose(proc.pid, budget=10)
        roles = {t.role for t in d.threads if t.stuck}
        assert "queue feeder thread waiting for the queue's write lock (another process writes)" in roles
        assert "queue feeder thread writing the pickled message into the pipe" in roles
        # From the writer through the parent's join (and the lock, if the joined worker is not
        # the writer) back to the writer: never a walk through every worker.
        assert 3 <= len(d.cycle) <= 4, d.text()
    with started(*corpus("thread_pipe")) as proc:
        ready(proc)
        d = diagnose(proc.pid, budget=10)
        assert "joining a thread (Thread.join)" in {t.role for t in d.threads}
        assert d.fix.startswith("read the pipe before joining the thread")
