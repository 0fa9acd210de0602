"""The demo: every part of joinstall once, on a grid small enough for a minute on 2 cores.

1. a faithful sweep of buggy and fixed with a short real timeout (where the timeouts hit);
2. a fast sweep of every variant (fixes, false fixes, mitigations and siblings side by side);
3. the byte-exact threshold at pipe capacities from 4 KiB to 1 MiB, measured against the model;
4. the multi-message map (puts until the stall, per message size);
5. the interpreter matrix: every CPython found, every start method it has;
6. one py-spy capture of a hung tree, with its wait-for cycle;
7. the report, with its figures (written by the ``demo`` command: the analysis sits above
   the code that runs programs, and only the commands wire the two together).

Step lines go through ``tqdm.write``, so that they never tear a progress bar; the bars are
drawn only on a terminal.
"""

from __future__ import annotations

import dataclasses
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from joinstall import defaults, harness, resultsfile, variants
from joinstall.measure import matrix, sweep, threshold
from joinstall.records import Mode, RunRecord, RunSpec
from tqdm import tqdm


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
    faithful_timeout=defaults.FAITHFUL_TIMEOUT,
    # 65,514/65,515: the queue threshold; 65,536/65,537: popen_wait's own (its stdout pipe).
    fast_sizes=(1024, 8192, 32768, 65514, 65515, 65536, 65537, 131072, 262144, 524288, 1 << 20),
    capacities=tuple(4096 << k for k in range(9)),  # 4 KiB .. 1 MiB
    message_sizes=(100, 500, 1000, 2100, 3000, 4000, 4092, 4093, 6000, 8000, 12000, 16000, 20000, 30000),
    matrix_pythons=None,
)
#: What the test suite runs: every step, on the fewest points that still show each effect.
QUICK = Plan(
    faithful_sizes=(1024, 65514, 65515, 1 << 20),
    # Shorter than the default: the test suite waits it out at every stalled size.
    faithful_timeout=0.5,
    fast_sizes=(1024, 1 << 20),
    capacities=(4096, 65536),
    message_sizes=(2100, 5000),
    matrix_pythons=(sys.executable,),
)

Say = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Outcome:
    files: tuple[Path, ...]
    seconds: float
    disagreements: tuple[str, ...]


def say_line(text: str) -> None:
    """Step lines on stdout, drawn above any progress bar, each within 100 columns."""
    for line in text.splitlines() or [""]:
        indent = " " * (len(line) - len(line.lstrip()))
        tqdm.write(
            "\n".join(textwrap.wrap(line, 100, subsequent_indent=indent + "  ", break_long_words=False))
            or line
        )


def run(out: Path, plan: Plan, jobs: int = 2, say: Say = say_line, progress: bool = True) -> Outcome:
    """Run the six measuring steps into ``out`` (overwriting an earlier demo); the results files."""
    start = time.monotonic()
    steps = _Steps(out, plan, jobs, say, progress)
    files = [
        steps.faithful_sweep(),
        steps.fast_sweep(),
        steps.thresholds(),
        steps.multiput_map(),
        steps.matrix(),
        steps.spy(),
    ]
    return Outcome(tuple(files), time.monotonic() - start, tuple(steps.disagree))


class _Steps:
    """Each step writes one results file and says what it found in a line or two."""

    def __init__(self, out: Path, plan: Plan, jobs: int, say: Say, progress: bool) -> None:
        self.out, self.plan, self.jobs, self.say, self.progress = out, plan, jobs, say, progress
        self.disagree: list[str] = []

    def _bar(self, total: int, desc: str) -> tqdm[Any]:
        # disable=None: drawn only on a terminal, never as carriage returns in a piped log.
        return tqdm(
            total=total, desc=desc, leave=False, file=sys.stderr, disable=None if self.progress else True
        )

    def _sweep(
        self, name: str, sizes: Sequence[int], names: Sequence[str], mode: Mode, timeout: float
    ) -> Path:
        path = self.out / name
        config = sweep.SweepConfig(
            sizes=tuple(sizes), variants=tuple(names), timeout=timeout, mode=mode, jobs=self.jobs
        )
        for line in sweep.run_sweep(config, path, resume=False, progress=self.progress).lines():
            self.say(f"      {line}")
        return path

    def faithful_sweep(self) -> Path:
        t = self.plan.faithful_timeout
        self.say(f"[1/7] faithful sweep: buggy and fixed, join({t:g}) really times out")
        return self._sweep("faithful.jsonl", self.plan.faithful_sizes, ("buggy", "fixed"), Mode.FAITHFUL, t)

    def fast_sweep(self) -> Path:
        every = tuple(variants.REGISTRY)
        self.say(f"[2/7] fast sweep: all {len(every)} variants, stalls proven from /proc")
        return self._sweep("sweep.jsonl", self.plan.fast_sizes, every, Mode.FAST, defaults.TIMEOUT)

    def thresholds(self) -> Path:
        caps = self.plan.capacities
        self.say(f"[3/7] byte-exact threshold at {len(caps)} pipe capacities, measured vs model")
        path = self.out / "thresholds.jsonl"
        with (
            resultsfile.Writer(path, {"demo": "thresholds"}, resume=False) as w,
            self._bar(len(caps), "thresholds") as bar,
        ):
            for cap in caps:
                t = threshold.threshold(sys.executable, pipe_size=cap)
                w.append(t.to_record())
                bar.update()
                self.say(
                    f"      {cap:>9,} B pipe: stall above {t.measured:,} B measured, {t.predicted:,} predicted"
                )
                if not t.agree:
                    self.disagree.append(
                        f"threshold at {cap} B: measured {t.measured}, predicted {t.predicted}"
                    )
        return path

    def multiput_map(self) -> Path:
        sizes = self.plan.message_sizes
        self.say(f"[4/7] multi-message map: {len(sizes)} message sizes")
        path = self.out / "multiput.jsonl"
        with (
            resultsfile.Writer(path, {"demo": "multiput"}, resume=False) as w,
            self._bar(len(sizes), "multi-put") as bar,
        ):
            for size in sizes:
                m = threshold.multiput(sys.executable, None, size)
                w.append(m.to_record())
                bar.update()
                if not m.agree:
                    self.disagree.append(
                        f"{size} B messages: {m.measured_puts} puts measured, {m.predicted_puts} predicted"
                    )
                if size == 2100 or size == sizes[-1]:
                    self.say(
                        f"      {size:,} B messages stall at put {m.measured_puts} (predicted {m.predicted_puts})"
                    )
        return path

    def matrix(self) -> Path:
        self.say("[5/7] interpreter matrix: threshold per CPython and start method")
        path = self.out / "matrix.jsonl"
        cells = matrix.plan(self.plan.matrix_pythons, jobs=self.jobs)
        with self._bar(len(cells.cells), "matrix cells") as bar:

            def tick(_: object) -> None:
                bar.update()

            table = matrix.measure(cells, on_cell=tick)
        with resultsfile.Writer(path, {"demo": "matrix"}, resume=False) as w:
            for record in table.records():
                w.append(record)
        self.say("      " + table.table().replace("\n", "\n      "))
        self.disagree += [
            f"matrix: Python {c.python_version} {c.start_method}" for c in table.cells if not c.agree
        ]
        return path

    def spy(self) -> Path:
        self.say("[6/7] py-spy on a hung tree: the wait-for cycle")
        path = self.out / "spy.jsonl"
        result = harness.run(RunSpec(variant="buggy", size=1 << 20, spy=True))
        with resultsfile.Writer(path, {"demo": "spy"}, resume=False) as w:
            # The diagnosis travels inside the run record: one copy, one shape.
            w.append(RunRecord("buggy:1048576:1:spy", result).to_record())
        cycle = result.proof.cycle if result.proof else ()
        self.say(f"      {cycle[0] if cycle else result.explanation}")
        return path
