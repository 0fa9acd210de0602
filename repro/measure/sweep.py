"""Sweeps: many runs over a grid, in parallel, into a resumable JSON Lines results file.

Two shapes of grid (``joinstall.measure.grid``), one configuration (``joinstall.measure.sweepconfig``):

* a **size sweep** (the default): every variant x every payload size on a log grid, with
  points packed densely around the predicted threshold, one put per run;
* a **multi-put map** (``puts`` given, ``joinstall.measure.multiputmap``): every message size on the grid
  x every put count K, each run sending K messages of that size.

The runs go to a thread pool (``joinstall.measure.sweeppool``); the summary (``joinstall.measure.sweepsummary``) is
computed from the whole file afterwards.
"""

from __future__ import annotations

from pathlib import Path

from joinstall import resultsfile
from joinstall.measure import multiputmap, sweeppool
from joinstall.measure.sweepconfig import SweepConfig as SweepConfig  # re-exported: repro/demo.py uses it
from joinstall.measure.sweepsummary import SweepSummary, summarize


def run_sweep(config: SweepConfig, out: Path, resume: bool = True, progress: bool = True) -> SweepSummary:
    """Run every grid point that ``out`` does not hold yet; return the summary of the whole file."""
    config.validate()
    # Opened before the first run: a path that cannot be written is one line, not lost runs.
    with resultsfile.Writer(out, config.to_dict(), resume) as writer:
        if config.puts:
            tasks, total = multiputmap.map_tasks(config, out, writer)
        else:
            tasks, total = _size_tasks(config, writer)
        ran = sweeppool.execute(tasks, writer, config.jobs, progress)
    return summarize(config, out, ran=ran, skipped=total - len(tasks), repaired=writer.repaired)


def _size_tasks(config: SweepConfig, writer: resultsfile.Writer) -> tuple[list[sweeppool.Task], int]:
    runs = config.runs()
    return [sweeppool.run_task(key, spec) for key, spec in runs if not writer.done(key)], len(runs)
