"""The demo: every part of joinstall once, on a grid small enough for a minute on 2 cores.

1. a faithful sweep of buggy and fixed with a short real timeout (where the timeouts hit);
2. a fast sweep of every variant (fixes, false fixes, mitigations and siblings side by side);
3. the byte-exact threshold at pipe capacities from 4 KiB to 1 MiB, measured against the model;
4. the multi-message map (puts until the stall, per message size);
5. the interpreter matrix: every CPython found, every start method it has;
6. one py-spy capture of a hung tree, with its wait-for cycle;
7. the report, with its figures.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from repro import harness, matrix, resultsfile, sweep, threshold, variants
from repro.records import Mode, RunSpec


@dataclasses.dataclass(frozen=True)
class Plan:
    faithful_sizes: tuple[int, ...]
    faithful_timeout: float
    fast_sizes: tuple[int, ...]
    capacities: tuple[int, ...]
    message_sizes: tuple[int, ...]
    #: Interpreters for the matrix: None means every CPython found on this machine.
    matrix_pythons: tuple[str, ...] | None


FULL = Plan(
    faithful_sizes=(1024, 4096, 16384, 32768, 60000, 65514, 65515, 70000, 131072, 262144, 524288, 1 << 20),
    faithful_timeout=1.0,
    fast_sizes=(1024, 8192, 32768, 65514, 65515, 131072, 262144, 524288, 1 << 20),
    capacities=tuple(4096 << k for k in range(9)),  # 4 KiB .. 1 MiB
    message_sizes=(100, 500, 1000, 2100, 3000, 4000, 4092, 4093, 6000, 8000, 12000, 16000, 20000, 30000),
    matrix_pythons=None,
)
#: What the test suite runs: every step, on the fewest points that still show each effect.
QUICK = Plan(
    faithful_sizes=(1024, 65514, 65515, 1 << 20),
    faithful_timeout=0.5,
    fast_sizes=(1024, 1 << 20),
    capacities=(4096, 65536),
    message_sizes=(2100, 5000),
    matrix_pythons=(sys.executable,),
)

Say = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Outcome:
    report: Path
    figures: dict[str, Path]
    files: tuple[Path, ...]
    seconds: float
    disagreements: tuple[str, ...]


def run(out: Path, plan: Plan, jobs: int = 2, say: Say = print, progress: bool = True) -> Outcome:
    """Run the six steps into ``out`` (overwriting an earlier demo) and return what was written."""
    start = time.monotonic()
    files: list[Path] = []
    disagree: list[str] = []
    every = tuple(variants.REGISTRY)

    say(f"[1/7] faithful sweep: buggy and fixed, join({plan.faithful_timeout:g}) really times out")
    files.append(_sweep(out / "faithful.jsonl", plan.faithful_sizes, ("buggy", "fixed"), Mode.FAITHFUL,
                        plan.faithful_timeout, jobs, progress, say))  # fmt: skip
    say(f"[2/7] fast sweep: all {len(every)} variants, stalls proven from /proc")
    files.append(_sweep(out / "sweep.jsonl", plan.fast_sizes, every, Mode.FAST, 10.0, jobs, progress, say))

    say(f"[3/7] byte-exact threshold at {len(plan.capacities)} pipe capacities, measured vs model")
    path = out / "thresholds.jsonl"
    with resultsfile.Writer(path, {"demo": "thresholds"}, resume=False) as w:
        for cap in plan.capacities:
            t = threshold.threshold(sys.executable, pipe_size=cap)
            w.append(t.to_record())
            say(f"      {cap:>9,} B pipe: stall above {t.measured:,} B measured, {t.predicted:,} predicted")
            if not t.agree:
                disagree.append(f"threshold at {cap} B: measured {t.measured}, predicted {t.predicted}")
    files.append(path)

    say(f"[4/7] multi-message map: {len(plan.message_sizes)} message sizes")
    path = out / "multiput.jsonl"
    with resultsfile.Writer(path, {"demo": "multiput"}, resume=False) as w:
        for size in plan.message_sizes:
            m = threshold.multiput(sys.executable, None, size)
            w.append(m.to_record())
            if not m.agree:
                disagree.append(
                    f"{size} B messages: {m.measured_puts} puts measured, {m.predicted_puts} predicted"
                )
        say(
            f"      e.g. {m.message_size:,} B messages stall at put {m.measured_puts} (predicted {m.predicted_puts})"
        )
    files.append(path)

    say("[5/7] interpreter matrix: threshold per CPython and start method")
    path = out / "matrix.jsonl"
    table = matrix.run(plan.matrix_pythons, jobs=jobs)
    with resultsfile.Writer(path, {"demo": "matrix"}, resume=False) as w:
        for record in table.records():
            w.append(record)
    say("      " + table.table().replace("\n", "\n      "))
    disagree += [f"matrix: Python {c.python_version} {c.start_method}" for c in table.cells if not c.agree]
    files.append(path)

    say("[6/7] py-spy on a hung tree: the wait-for cycle")
    files.append(_spy(out / "spy.jsonl", say))

    say("[7/7] report and figures")
    from analysis import report, results  # imported late: matplotlib loads in ~1 s

    written = report.write(results.load(files), out / "report")
    return Outcome(written.path, written.figures, tuple(files), time.monotonic() - start, tuple(disagree))


def _sweep(
    path: Path, sizes: Sequence[int], names: Sequence[str], mode: Mode, timeout: float, jobs: int,
    progress: bool, say: Say,
) -> Path:  # fmt: skip
    config = sweep.SweepConfig(
        sizes=tuple(sizes), variants=tuple(names), timeout=timeout, mode=mode, jobs=jobs
    )
    summary = sweep.run_sweep(config, path, resume=False, progress=progress)
    for line in summary.lines():
        say(f"      {line}")
    return path


def _spy(path: Path, say: Say) -> Path:
    result = harness.run(RunSpec(variant="buggy", size=1 << 20, spy=True))
    record: dict[str, Any] = {"kind": "spy", "key": "spy:buggy:1MiB", "diagnosis": result.diagnosis}
    with resultsfile.Writer(path, {"demo": "spy"}, resume=False) as w:
        w.append({"kind": "run", "key": "buggy:1048576:1:spy", "result": result.to_dict()})
        w.append(record)
    cycle = (result.diagnosis or {}).get("text", "").splitlines()
    say(f"      {cycle[0] if cycle else result.explanation}")
    return path
