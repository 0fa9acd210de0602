"""A cause named from what a watch saw: a Pool's worker killed while the tree was watched."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from joinstall.engine import Verdict, Watcher
from joinstall.engine.departures import ExitEvents

from tests.integration.helpers import kill_session

pytestmark = pytest.mark.integration

#: A Pool runs a slow task; once the watch has seen the worker, the parent kills it.
PROGRAM = """
import multiprocessing as mp, os, signal, sys, time

def init(q):
    global pids
    pids = q

def slow():
    pids.put(os.getpid())
    time.sleep(30)

if __name__ == "__main__":
    mp.set_start_method("fork")
    q = mp.Queue()
    pool = mp.Pool(2, initializer=init, initargs=(q,))
    busy = pool.apply_async(slow)
    victim = q.get()
    sys.stdin.readline()  # the watch has sampled the tree
    os.kill(victim, signal.SIGKILL)
    print(victim, flush=True)
    busy.get()
"""


@pytest.mark.timeout(60)
def test_a_worker_killed_under_watch_is_named_with_its_signal(tmp_path: Path) -> None:
    script = tmp_path / "pool_killed.py"
    script.write_text(PROGRAM)
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        watcher = Watcher(proc.pid)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # long enough to walk the tree with its workers
            watcher.step()
            time.sleep(0.02)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        victim = int(proc.stdout.readline())
        proof = None
        deadline = time.monotonic() + 15
        while proof is None and time.monotonic() < deadline:
            proof = watcher.step()
            time.sleep(0.02)
        assert proof is not None and proof.verdict is Verdict.DEADLOCKED, watcher.last().text()
        assert f"worker {victim} died (" in proof.cause and "while it ran a task" in proof.cause
        if ExitEvents.open() is not None:  # the kernel's exit events are ours to read (root)
            assert re.search(rf"worker {victim} died \(killed by SIGKILL; ", proof.cause), proof.cause
        assert "ProcessPoolExecutor" in proof.fix
    finally:
        kill_session(proc.pid)
        proc.wait()
        for f in (proc.stdin, proc.stdout):
            if f is not None:
                f.close()
