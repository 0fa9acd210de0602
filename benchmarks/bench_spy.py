"""``joinstall spy --pid`` as a user runs it, whole command, on hung trees, side by side.

Three rows, each the median wall time of the complete command (interpreter start, imports,
sampling until proof, py-spy on every Python process, the report):

* a 3-process stall (the seed with spawn: parent, child, resource tracker);   goal <= 0.4 s
* a 32-worker pool whose workers wait on the shared queue's write lock;       goal <= 1 s
* the 3-process stall again with 2,000 unrelated sleeping processes around;   goal <= 1.5x the quiet row
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from joinstall import reaper

from benchmarks import timing

REPEATS = 5
CORPUS = Path(__file__).resolve().parents[1] / "tests" / "engine_corpus"
CROWD = 2000


@contextlib.contextmanager
def hung(*argv: str) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, str(CORPUS / argv[0]), *argv[1:]], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"READY"
        time.sleep(0.5)
        yield proc.pid
    finally:
        reaper.kill_and_clean(reaper.members(proc.pid))
        proc.wait()


@contextlib.contextmanager
def crowd(n: int) -> Iterator[None]:
    """``n`` sleeping processes that have nothing to do with the tree (one session, one kill)."""
    leader = subprocess.Popen(
        ["sh", "-c", f"i=0; while [ $i -lt {n} ]; do sleep 600 & i=$((i+1)); done; wait"],
        start_new_session=True,
    )
    try:
        while len(os.listdir("/proc")) < n:
            time.sleep(0.1)
        time.sleep(1.0)
        yield
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
        # The sleepers outlive their shell as zombies of whoever adopts orphans: this process,
        # when it is a subreaper (the sweep's reaper makes it one). Reap them, or the next
        # benchmark's crowd counts twice.
        reaper.reap_group(leader.pid)


def spy(pid: int) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "joinstall", "spy", "--pid", str(pid)], capture_output=True, text=True
    )
    took = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    return took


def main() -> None:
    with hung("seed_join.py", "spawn") as pid:
        quiet = timing.median([spy(pid) for _ in range(REPEATS)])
        with crowd(CROWD):
            crowded = timing.median([spy(pid) for _ in range(REPEATS)])
    with hung("pool_queue.py", "fork", "32") as pid:
        pool = timing.median([spy(pid) for _ in range(REPEATS)])
    rows = [
        ("spy, 3-process stall", quiet),
        ("spy, 32-worker pool", pool),
        (f"spy, 3-process stall, {CROWD:,} sleepers", crowded),
    ]
    timing.table(rows, base="spy, 3-process stall")
    timing.goals(
        ("3-process", quiet, 0.4, " s"),
        ("32 workers", pool, 1.0, " s"),
        ("crowded", crowded / quiet, 1.5, "x"),
    )
