"""A sweep: many runs over a grid, in parallel, into a resumable JSON Lines results file.

``SweepConfig`` says what runs and is checked whole before anything starts; ``run_sweep`` runs
what the file does not hold yet and summarizes the whole file (``joinstall.measure.summary``).
Two shapes of grid (``joinstall.measure.grid``):

* a **size sweep** (the default): every variant x every payload size on a log grid, with
  points packed densely around the predicted threshold, one put per run;
* a **multi-put map** (``puts`` given, ``joinstall.measure.multiputmap``): every message size on
  the grid x every put count K, each run sending K messages of that size.

The runs go to a thread pool (``joinstall.measure.pool``).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from joinstall import defaults, harness, resultsfile
from joinstall.errors import UsageError
from joinstall.measure import grid, multiputmap, pool
from joinstall.measure.summary import SweepSummary, summarize
from joinstall.programs import seed
from joinstall.records import Mode, RunSpec


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """What a sweep runs. ``puts`` empty: a size sweep; otherwise a multi-put map."""

    sizes: tuple[int, ...]
    variants: tuple[str, ...] = ("buggy", "fixed")
    python: str = sys.executable
    start_method: str | None = None
    shell: str = defaults.SHELL
    pipe_size: int = 0
    puts: tuple[int, ...] = ()
    timeout: float = defaults.TIMEOUT
    mode: Mode = Mode.FAST
    spy: bool = False
    spy_native: bool = False
    spy_locals: bool = False
    jobs: int = defaults.JOBS

    def to_dict(self) -> dict[str, Any]:
        """The results file's ``config``. Without ``jobs``: parallelism changes no result, so a
        sweep may be resumed with another -j."""
        data = dataclasses.asdict(self)
        del data["jobs"]
        data["mode"] = self.mode.value
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def spec(self, variant: str, size: int, puts: int = 1) -> RunSpec:
        return RunSpec(
            variant=variant, size=size, timeout=self.timeout, start_method=self.start_method,
            shell=self.shell, puts=puts, pipe_size=self.pipe_size, python=self.python,
            mode=self.mode, spy=self.spy, spy_native=self.spy_native, spy_locals=self.spy_locals,
        )  # fmt: skip

    def runs(self) -> list[tuple[str, RunSpec]]:
        """(key, spec) of every run of a size sweep, in grid order (a map decides as it goes)."""
        return [(pool.run_key(v, size, 1), self.spec(v, size)) for v in self.variants for size in self.sizes]

    def validate(self) -> None:
        """Reject a bad configuration before anything starts or any file is touched."""
        if not self.sizes:
            raise UsageError("the grid has no sizes; widen its range or give it more points")
        if not self.variants:
            raise UsageError("no variants chosen; choose e.g. buggy and fixed")
        defaults.JOBS_BOUND.check(self.jobs)
        if self.puts:
            defaults.PUTS_BOUND.check(min(self.puts), "every put count")
        biggest = max(self.sizes) * max(self.puts or (1,))
        if biggest > seed.MAX_SIZE:
            raise UsageError(
                f"the largest run would send {biggest:,} bytes, over the program's 256 MiB;"
                " lower the largest size or the put counts"
            )
        # One spec per variant covers the variant, shell, interpreter, start method and pipe
        # size; the largest payload covers the size bound.
        for v in self.variants:
            harness.validate(self.spec(v, biggest, max(self.puts or (1,))))

    def capacity(self, variant: str) -> int:
        return grid.capacity_of(variant, self.pipe_size)


def run_sweep(config: SweepConfig, out: Path, resume: bool = True, progress: bool = True) -> SweepSummary:
    """Run every grid point that ``out`` does not hold yet; return the summary of the whole file."""
    config.validate()
    # Opened before the first run: a path that cannot be written is one line, not lost runs.
    with resultsfile.Writer(out, config.to_dict(), resume) as writer:
        if config.puts:
            tasks, total = multiputmap.map_tasks(config, out, writer)
        else:
            runs = config.runs()
            tasks = [pool.run_task(key, spec) for key, spec in runs if not writer.done(key)]
            total = len(runs)
        ran = pool.execute(tasks, writer, config.jobs, progress)
    return summarize(config, out, ran=ran, skipped=total - len(tasks), repaired=writer.repaired)
