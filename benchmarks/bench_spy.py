"""Time to capture and classify a hung 3-process tree: parent, child and resource tracker (spawn).

One real stalled tree (1 MiB, spawn start method, so three Python processes: the parent in
join(), the child waiting for its feeder, and multiprocessing's resource tracker) is proven
stalled by the same sampler ``joinstall spy --pid`` uses, then kept hung while the capture
runs repeatedly on it: one py-spy dump per process (run in parallel), parsing, labelling, the
wait-for graph and its cycle, the text. Goal: at most 0.5 s.
"""

from __future__ import annotations

from joinstall import harness, reaper
from joinstall.records import RunSpec
from joinstall.spy import capture, pyspy, target

from benchmarks import timing

REPEATS = 7
GOAL = 0.5


def main() -> None:
    spec = RunSpec(variant="buggy", size=1 << 20, timeout=60, start_method="spawn")
    with reaper.session(harness.program_argv(spec), stdout=-1, stderr=-1) as proc:
        sampler = target.sample(proc.pid, budget=30)
        evidence = sampler.evidence
        if evidence is None:
            print("  the program did not stall within 30 s; nothing to measure")
            return
        snap = sampler.snaps[-1]
        pythons = [p.pid for p in snap.procs if pyspy.is_python(p)]
        print(f"  tree: {len(snap.procs)} processes, {len(pythons)} Python ({', '.join(map(str, pythons))})")

        def once(binary: str | None = None, native: bool = False) -> None:
            result = capture.capture(snap, evidence, proc.pid, binary=binary, native=native)
            assert result is not None and result["cycle"], "the cycle must close on every repeat"

        rows = [
            ("capture + classify (py-spy)", timing.median(timing.repeat(once, REPEATS))),
            (
                "capture, /proc only",
                timing.median(timing.repeat(lambda: once(binary="/nonexistent"), REPEATS)),
            ),
            ("one py-spy dump", timing.median(timing.repeat(lambda: pyspy.dump(proc.pid), REPEATS))),
            ("capture --native", timing.median(timing.repeat(lambda: once(native=True), REPEATS))),
        ]
    timing.table(rows, base="capture + classify (py-spy)")
    took = rows[0][1]
    print(
        f"  median over {REPEATS} repeats: {took * 1000:.1f} ms for 3 processes;"
        f" goal <= {GOAL * 1000:.0f} ms: {'met' if took <= GOAL else 'MISSED'}"
    )
