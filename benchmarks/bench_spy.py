"""Time to capture and classify a hung 3-process tree: parent, child and resource tracker (spawn).

One real stalled tree (1 MiB, spawn start method, so three Python processes: the parent in
join(), the child waiting for its feeder, and multiprocessing's resource tracker) is kept
hung while ``diagnosis.capture`` runs repeatedly on it: one py-spy dump per process (run in
parallel), parsing, labelling, the wait-for graph and its cycle. Goal: at most 0.5 s.
"""

from __future__ import annotations

import time

from benchmarks import timing
from repro import diagnosis, harness, procfs, reaper, spy
from repro.records import RunSpec
from repro.verdict import prove_stall

REPEATS = 7
GOAL = 0.5


def main() -> None:
    spec = RunSpec(variant="buggy", size=1 << 20, timeout=60, start_method="spawn")
    with reaper.session(harness.program_argv(spec), stdout=-1, stderr=-1) as proc:
        snaps: list[procfs.Snapshot] = []
        evidence = None
        deadline = time.monotonic() + 30
        while evidence is None and time.monotonic() < deadline:
            snaps.append(procfs.snapshot(procfs.tree(proc.pid)))
            evidence = prove_stall(snaps, harness.PROOF_WINDOW)
            time.sleep(harness.SAMPLE_INTERVAL)
        if evidence is None:
            print("  the program did not stall within 30 s; nothing to measure")
            return
        snap = snaps[-1]
        pythons = [p.pid for p in snap.procs if diagnosis.is_python(p)]
        print(f"  tree: {len(snap.procs)} processes, {len(pythons)} Python ({', '.join(map(str, pythons))})")

        def capture(binary: str | None = None, native: bool = False) -> None:
            result = diagnosis.capture(snap, evidence, proc.pid, binary=binary, native=native)
            assert result is not None and result["cycle"], "the cycle must close on every repeat"

        rows = [
            ("capture + classify (py-spy)", timing.median(timing.repeat(capture, REPEATS))),
            (
                "capture, /proc only",
                timing.median(timing.repeat(lambda: capture(binary="/nonexistent"), REPEATS)),
            ),
            ("one py-spy dump", timing.median(timing.repeat(lambda: spy.dump(proc.pid), REPEATS))),
            ("capture --native", timing.median(timing.repeat(lambda: capture(native=True), REPEATS))),
        ]
    timing.table(rows, base="capture + classify (py-spy)")
    took = rows[0][1]
    print(
        f"  median over {REPEATS} repeats: {took * 1000:.1f} ms for 3 processes;"
        f" goal <= {GOAL * 1000:.0f} ms: {'met' if took <= GOAL else 'MISSED'}"
    )
