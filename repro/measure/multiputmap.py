"""The multi-put map: how many messages of one size the child can put before it stalls.

For every message size on the grid and every listed put count K, one run sends K messages of
that size. Then the first K that stalls is searched exactly between the listed ones (the
threshold search, prediction first), and one ``multiput`` record per message size puts the
measured count next to the pipe model's.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from joinstall import interpreters, resultsfile, variants
from joinstall.measure import grid
from joinstall.measure.measurements import MultiputResult
from joinstall.measure.pool import Emit, Task, run_checked, run_key, run_record
from joinstall.measure.probes import search
from joinstall.model import pipemodel
from joinstall.observe.verdict import Verdict

if TYPE_CHECKING:
    # Only a type here: the sweep runs the map, so a runtime import would be circular.
    from joinstall.measure.sweep import SweepConfig


def map_key(variant: str, message_size: int) -> str:
    return f"multiput:{variant}:{message_size}"


def map_tasks(config: SweepConfig, out: Path, writer: resultsfile.Writer) -> tuple[list[Task], int]:
    """One task per (variant, message size) whose ``multiput`` record is not in the file yet."""
    known: dict[str, tuple[str, float]] = {
        rec["key"]: (rec["result"]["verdict"], rec["result"]["timings"]["wall_s"])
        for rec in resultsfile.records(out, "run")
        if "key" in rec
    }
    points = [(v, m) for v in config.variants for m in config.sizes]
    todo = [(v, m) for v, m in points if not writer.done(map_key(v, m))]
    return [_map_task(config, v, m, known) for v, m in todo], len(points)


def _map_task(config: SweepConfig, variant: str, size: int, known: Mapping[str, tuple[str, float]]) -> Task:
    """Run K puts of ``size`` bytes for every listed K, then find the first K that stalls
    exactly between the listed ones (the threshold search, prediction first)."""

    def task(emit: Emit, stop: threading.Event) -> None:
        cells: dict[int, tuple[str, float]] = {}

        def stalls(k: int) -> bool:
            key = run_key(variant, size * k, k)
            if k not in cells and key in known:
                cells[k] = known[key]
            if k not in cells:
                result = run_checked(config.spec(variant, size * k, k), stop)
                emit(run_record(key, result))
                cells[k] = (result.verdict.value, result.timings.wall_s)
            return cells[k][0] == Verdict.STALLED.value

        stalled = [k for k in config.puts if stalls(k)]
        predicted = predicted_puts(config, variant, size)
        if stalled:
            # Zero puts never stall, so the search may start below the smallest K listed.
            last_ok = max((k for k in config.puts if k < stalled[0]), default=0)
            guess = predicted - 1 if predicted is not None else None
            search(stalls, last_ok, stalled[0], guess)
        version = interpreters.probe(config.python).version  # cached since validate()
        result = multiput_result(config, variant, size, cells, predicted, version)
        emit(result.to_record(map_key(variant, size)))

    return task


def predicted_puts(config: SweepConfig, variant: str, size: int) -> int | None:
    """The pipe model's put count for this variant's pipe; None for a variant it does not model."""
    if not grid.modelled(variant):
        return None
    return pipemodel.predict_puts(config.python, size, config.capacity(variant))


def multiput_result(
    config: SweepConfig,
    variant: str,
    message_size: int,
    cells: Mapping[int, tuple[str, float]],
    predicted: int | None,
    python_version: str,
) -> MultiputResult:
    """Measured vs predicted put count for one message size, from (verdict, seconds) per K.

    ``measured_puts`` is the smallest K that stalled (None: none of them); it is exact when
    K - 1 was run too and did not stall, which the search in ``_map_task`` makes sure of.
    ``agree`` is None when it cannot be told: no prediction, or no K tried reached it.
    """
    verdicts = {k: cells[k][0] for k in sorted(cells)}
    stalled = [k for k, v in verdicts.items() if v == Verdict.STALLED.value]
    measured = stalled[0] if stalled else None
    clean = all(v in (Verdict.OK.value, Verdict.STALLED.value) for v in verdicts.values())
    agree: bool | None
    if predicted is None:
        agree = clean and not stalled if variants.get(variant).kind is variants.Kind.FIX else None
    elif clean and measured is None and all(k < predicted for k in verdicts):
        # Nothing stalled, and nothing was run where the model says it would: consistent, but
        # not a measurement of the count. Unknown, not agreement.
        agree = None
    else:
        # Every K run, not only the first that stalled, must fall on the predicted side.
        agree = clean and all((k >= predicted) == (k in stalled) for k in verdicts)
    return MultiputResult(
        variant=variant,
        message_size=message_size,
        capacity=config.capacity(variant),
        measured_puts=measured,
        predicted_puts=predicted,
        agree=agree,
        exact=measured is not None and (measured == 1 or verdicts.get(measured - 1) == Verdict.OK.value),
        probes=len(verdicts),
        seconds=round(sum(sec for _, sec in cells.values()), 4),
        python=config.python,
        python_version=python_version,
        start_method=config.start_method,
        pipe_size=config.pipe_size,
        mode=config.mode.value,
        search="map",
        puts_tried=tuple(verdicts),
    )
