"""The default sweep (64 sizes x buggy and fixed, fast mode) with -j 1, 2 (the default) and 4.

Each sweep writes a fresh results file in a temporary folder, exactly as `joinstall sweep`
would with its defaults (the configuration comes from the command's own parser). Goal: the
default -j 2 sweep within 10 s on 2 cores. A run spends part of its time waiting (start-up,
the proof window), so more jobs than cores can still help, most of all on a busy machine.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from joinstall import cli
from joinstall.commands import sweep as command
from joinstall.measure import sweep
from joinstall.measure.summary import SweepSummary
from joinstall.measure.sweep import SweepConfig

from benchmarks import timing

GOAL_S = 10.0


def _timed(config: SweepConfig, folder: Path) -> tuple[float, SweepSummary]:
    start = time.perf_counter()
    summary = sweep.run_sweep(config, folder / f"sweep-j{config.jobs}.jsonl", resume=False, progress=False)
    return time.perf_counter() - start, summary


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        args = cli.build_parser().parse_args(["sweep", "-o", str(folder / "unused.jsonl")])
        config = command.config_from(args)
        runs = len(config.sizes) * len(config.variants)
        names = ", ".join(config.variants)
        print(f"default sweep: {len(config.sizes)} sizes x {names} = {runs} runs, fast mode")
        rows = []
        for jobs in (2, 1, 4):
            seconds, summary = _timed(dataclasses.replace(config, jobs=jobs), folder)
            assert summary.ran == runs, f"expected {runs} runs, the sweep did {summary.ran}"
            rows.append((f"-j {jobs}", seconds))
            print(f"  -j {jobs}: {seconds:.2f} s, {runs / seconds:.1f} runs/s; {summary.stalls[0].variant}"
                  f" stalled from {summary.stalls[0].first_stalled:,} B")  # fmt: skip
        timing.table(rows, base="-j 1")
        took = dict(rows)["-j 2"]
        verdict = "met" if took <= GOAL_S else "MISSED"
        print(f"  default sweep (-j 2) took {took:.2f} s (goal <= {GOAL_S:g} s): {verdict}")
