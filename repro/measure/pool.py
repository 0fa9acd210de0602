"""Runs on a thread pool, written to one results file from the calling thread alone.

Each run is one ``harness.run`` (its own subprocess tree, always reaped), so threads only wait.
Records are written by one thread, as they come, so that lines never interleave and a crash
can tear at most the last line. A run is written under a key, which a resumed sweep skips.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from joinstall import harness, reaper, resultsfile
from joinstall.records import RunRecord, RunResult, RunSpec

#: A unit of work for a pool thread: it hands each record to ``emit`` (the main thread writes
#: them) and checks ``stop`` before each run it starts.
Emit = Callable[[dict[str, Any]], None]
Task = Callable[[Emit, threading.Event], None]


def run_key(variant: str, size: int, puts: int) -> str:
    """The key of one run in a results file: a resumed sweep skips the keys already there."""
    return f"{variant}:{size}:{puts}"


class Stopped(reaper.Stopping):
    """The sweep was interrupted: a task gives up before its next run.

    A ``reaper.Stopping``, so that when it is the first news of a signal the main thread hears
    (a task saw the signal before the main thread did), the command still ends as interrupted.
    """


def run_record(key: str, result: RunResult) -> dict[str, Any]:
    return RunRecord(key, result).to_record()


def run_checked(spec: RunSpec, stop: threading.Event) -> RunResult:
    """One run, unless the sweep is stopping; a run cut short by a signal raises Stopped."""
    if stop.is_set() or reaper.stopping():
        raise Stopped
    try:
        result = harness.run(spec)
    except reaper.Stopping:
        raise Stopped from None
    # The signal handler killed the tree: this verdict describes the kill, not the program.
    if reaper.stopping():
        raise Stopped
    return result


def run_task(key: str, spec: RunSpec) -> Task:
    """A task of one run, written under ``key``."""

    def task(emit: Emit, stop: threading.Event) -> None:
        emit(run_record(key, run_checked(spec, stop)))

    return task


def execute(tasks: Sequence[Task], writer: resultsfile.Writer, jobs: int, progress: bool) -> int:
    """Run the tasks on ``jobs`` threads; write what they emit from this thread alone.

    Returns the number of ``run`` records written.
    """
    from tqdm import tqdm

    records: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
    stop = threading.Event()
    written = 0

    def drain() -> None:
        nonlocal written
        while not records.empty():
            rec = records.get()
            writer.append(rec)
            if rec["kind"] == "run":
                written += 1

    # disable=None: a bar only on a terminal, never carriage returns in a piped log.
    bar = tqdm(total=len(tasks), file=sys.stderr, disable=None if progress else True)
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sweep")
    pending = {pool.submit(task, records.put, stop) for task in tasks}
    try:
        while pending:
            done, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
            drain()
            for fut in done:
                fut.result()  # a task that failed stops the sweep with its error
                bar.update()
    except BaseException:
        # Ctrl-C or a failed run: start nothing new. On a signal the handler has already
        # killed the running trees, so the pool ends at once; keep what was found, re-raise.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        drain()
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()
    return written
