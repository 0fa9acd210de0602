"""Sweeps: many runs over a grid, in parallel, into a resumable JSON Lines results file.

Two shapes of grid:

* a **size sweep** (the default): every variant x every payload size on a log grid, with
  points packed densely around the predicted threshold, one put per run;
* a **multi-put map** (``puts`` given): every message size on the grid x every put count K,
  each run sending K messages of that size; per message size one ``multiput`` record puts the
  measured put count at which the child stalls next to the pipe model's prediction.

Each run is one ``harness.run`` (its own subprocess tree, always reaped), so runs go to a
thread pool; results are written by the main thread alone, as they complete, so that lines
never interleave and a crash can tear at most the last line.
"""

from __future__ import annotations

import dataclasses
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from repro import harness, interpreters, resultsfile, variants
from repro.errors import ResultsError, UsageError
from repro.programs import seed
from repro.records import Mode, RunResult, RunSpec
from repro.verdict import Verdict

DEFAULT_LO = 1024
DEFAULT_HI = 1024 * 1024
#: 48 log points + 16 dense points = the 64 sizes of the default sweep.
DEFAULT_POINTS = 48
DENSE_POINTS = 16
DENSE_SPAN = 64


def log_grid(
    lo: int = DEFAULT_LO,
    hi: int = DEFAULT_HI,
    points: int = DEFAULT_POINTS,
    dense_center: int | Iterable[int] | None = None,
    dense_points: int = DENSE_POINTS,
    dense_span: int = DENSE_SPAN,
) -> list[int]:
    """Sizes from ``lo`` to ``hi`` on a log grid, plus dense points around each centre.

    Around a centre c the dense points always include c and c + 1 (the last size that fits
    and the first that stalls, when c is the threshold) and spread the rest evenly over
    [c - span, c + span + 1]. Points outside [lo, hi] are dropped. Sorted and unique.
    """
    if lo < 1:
        raise UsageError(f"--lo must be at least 1 byte (a log grid cannot start at {lo})")
    if hi > seed.MAX_SIZE:
        raise UsageError(f"--hi must be at most {seed.MAX_SIZE:,} bytes (256 MiB)")
    if lo >= hi:
        raise UsageError(f"the size range {lo:,}..{hi:,} is empty or inverted; pass a --lo below --hi")
    if points < 1:
        raise UsageError(f"--points must be 1 or more; a grid of {points} points runs nothing")
    if dense_points < 0 or dense_span < 0:
        raise UsageError(f"--dense must be 0 or more (got {dense_points} points, span {dense_span})")
    ratio = hi / lo
    grid = {lo} if points == 1 else {round(lo * ratio ** (i / (points - 1))) for i in range(points)}
    grid |= {hi} if points > 1 else set()  # float rounding must not lose the end point
    centres = (
        [] if dense_center is None else [dense_center] if isinstance(dense_center, int) else dense_center
    )
    for c in centres:
        grid |= {x for x in _dense(c, dense_points, dense_span) if lo <= x <= hi}
    return sorted(grid)


def _dense(center: int, n: int, span: int) -> set[int]:
    must = [center, center + 1][:n]
    rest = n - len(must)
    if rest <= 0:
        return set(must)
    step = (2 * span + 1) / (rest - 1) if rest > 1 else 0.0
    return set(must) | {round(center - span + i * step) for i in range(rest)}


def predict_threshold(python: str, capacity: int) -> int:
    """The largest one-put payload that does not stall, by the pipe model."""
    # Imported here: the model asks the target interpreter, which only a sweep needs to do.
    from repro import pipemodel

    return pipemodel.predict_threshold(python, capacity)


def predict_puts(python: str, message_size: int, capacity: int) -> int:
    """The number of puts of ``message_size`` bytes at which the child stalls, by the model."""
    from repro import pipemodel

    return pipemodel.predict_puts(python, message_size, capacity)


def capacity_of(variant: str, pipe_size: int) -> int:
    """The capacity of the pipe a variant's payload goes through (seed.py resizes bigpipe's)."""
    from repro import pipemodel

    if variant == "bigpipe":
        return seed.BIGPIPE_SIZE
    return harness.check_pipe_size(pipe_size) if pipe_size else pipemodel.default_capacity()


def modelled(variant: str) -> bool:
    """Whether the pipe model predicts this variant's stall: the bugs, whose queue pipe fills,
    and the mitigation (bigpipe), whose bigger pipe fills later. Fixes never stall; the false
    fix and the sibling (a subprocess pipe) are not what the model describes."""
    return variants.get(variant).kind in (variants.Kind.BUG, variants.Kind.MITIGATION)


def centres(python: str, pipe_size: int, names: Iterable[str]) -> list[int]:
    """Where the dense grid points go: the predicted one-put threshold of each pipe a chosen
    variant can fill (the configured one, and bigpipe's own when it is chosen)."""
    return sorted({predict_threshold(python, capacity_of(n, pipe_size)) for n in names if modelled(n)})


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """What a sweep runs. ``puts`` empty: a size sweep; otherwise a multi-put map."""

    sizes: tuple[int, ...]
    variants: tuple[str, ...] = ("buggy", "fixed")
    python: str = sys.executable
    start_method: str | None = None
    shell: str = "/bin/sh"
    pipe_size: int = 0
    puts: tuple[int, ...] = ()
    timeout: float = 10.0
    mode: Mode = Mode.FAST
    spy: bool = False
    jobs: int = 2

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
            mode=self.mode, spy=self.spy,
        )  # fmt: skip

    def runs(self) -> list[tuple[str, RunSpec]]:
        """(key, spec) of every run of a size sweep, in grid order (a map decides as it goes)."""
        return [(run_key(v, size, 1), self.spec(v, size)) for v in self.variants for size in self.sizes]

    def validate(self) -> None:
        """Reject a bad configuration before anything starts or any file is touched."""
        if not self.sizes:
            raise UsageError("the grid has no sizes; widen --lo/--hi or raise --points")
        if not self.variants:
            raise UsageError("no variants chosen; pass --variants buggy,fixed or all")
        if self.jobs < 1:
            raise UsageError(f"-j must be 1 or more, not {self.jobs}")
        if any(k < 1 for k in self.puts):
            raise UsageError("--puts counts must be 1 or more")
        biggest = max(self.sizes) * max(self.puts or (1,))
        if biggest > seed.MAX_SIZE:
            raise UsageError(
                f"the largest run would send {biggest:,} bytes, over the program's 256 MiB;"
                " lower --hi or the put counts"
            )
        # One spec per variant covers the variant, shell, interpreter, start method and pipe
        # size; the largest payload covers the size bound.
        for v in self.variants:
            harness.validate(self.spec(v, biggest, max(self.puts or (1,))))

    def capacity(self, variant: str) -> int:
        return capacity_of(variant, self.pipe_size)


def run_key(variant: str, size: int, puts: int) -> str:
    return f"{variant}:{size}:{puts}"


@dataclasses.dataclass(frozen=True)
class StallStart:
    """Where, on the measured grid, one variant began to stall."""

    variant: str
    last_ok: int | None
    first_stalled: int | None
    predicted: int | None


@dataclasses.dataclass(frozen=True)
class SweepSummary:
    path: Path
    ran: int
    skipped: int
    repaired: bool
    #: variant -> verdict -> number of runs, over every run in the file.
    counts: dict[str, dict[str, int]]
    stalls: tuple[StallStart, ...]
    multiput: tuple[dict[str, Any], ...]

    def lines(self) -> list[str]:
        out = []
        if self.repaired:
            out.append(
                f"repaired {self.path}: its last line was torn (a run cut off mid-write) and was dropped"
            )
        out.append(f"{self.ran} runs done; {self.skipped} grid points were already in {self.path}")
        starts = {s.variant: s for s in self.stalls}
        for variant, by_verdict in self.counts.items():
            text = ", ".join(f"{n} {verdict}" for verdict, n in sorted(by_verdict.items()))
            start = starts.get(variant)
            if start and (start.first_stalled is not None or start.predicted is not None):
                text += f"; {_stall_text(start)}"
            out.append(f"  {variant}: {text}")
        for rec in self.multiput:
            out.append("  " + _multiput_text(rec))
        return out


def _stall_text(s: StallStart) -> str:
    pred = f" (model: {s.predicted:,})" if s.predicted is not None else ""
    if s.first_stalled is None:
        return f"no stall on this grid{pred}"
    ok = f"ok up to {s.last_ok:,} B, " if s.last_ok is not None else ""
    return f"{ok}stalled from {s.first_stalled:,} B{pred}"


def _multiput_text(rec: Mapping[str, Any]) -> str:
    measured, predicted = rec["measured_puts"], rec["predicted_puts"]
    top = max(rec["puts_tried"], default=0)
    got = f"no stall up to {top} puts" if measured is None else f"stalls at {measured} puts"
    pred = "" if predicted is None else f", predicted {predicted}"
    agree = {True: "agrees", False: "DISAGREES", None: "no prediction"}[rec["agree"]]
    return f"{rec['variant']} {rec['message_size']:,} B messages: {got}{pred} ({agree})"


#: A unit of work for a pool thread: it hands each record to ``emit`` (the main thread writes
#: them) and checks ``stop`` before each run it starts.
Emit = Callable[[dict[str, Any]], None]
Task = Callable[[Emit, threading.Event], None]


class _Stopped(Exception):
    """The sweep was interrupted: a task gives up before its next run."""


def run_sweep(config: SweepConfig, out: Path, resume: bool = True, progress: bool = True) -> SweepSummary:
    """Run every grid point that ``out`` does not hold yet; return the summary of the whole file."""
    config.validate()
    with _open(out, config, resume) as writer:
        tasks, total = _map_tasks(config, out, writer) if config.puts else _size_tasks(config, writer)
        ran = _execute(tasks, writer, config.jobs, progress)
    return summarize(config, out, ran=ran, skipped=total - len(tasks), repaired=writer.repaired)


def _open(out: Path, config: SweepConfig, resume: bool) -> resultsfile.Writer:
    """Open (create, or check and repair) the results file before the first run starts."""
    if out.is_dir():
        raise ResultsError(f"{out} is a directory; pass a file path to -o, e.g. {out / 'sweep.jsonl'}")
    blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ResultsError(f"cannot create {out}: {blocker} is a file, not a directory; choose another -o")
    try:
        return resultsfile.Writer(out, config.to_dict(), resume=resume)
    except OSError as exc:
        raise ResultsError(f"cannot write {out}: {exc.strerror}; choose a writable -o path") from None


def _size_tasks(config: SweepConfig, writer: resultsfile.Writer) -> tuple[list[Task], int]:
    runs = config.runs()
    return [_run_task(key, spec) for key, spec in runs if not writer.done(key)], len(runs)


def _run_task(key: str, spec: RunSpec) -> Task:
    def task(emit: Emit, stop: threading.Event) -> None:
        if stop.is_set():
            raise _Stopped
        emit(_run_record(key, harness.run(spec)))

    return task


def _run_record(key: str, result: RunResult) -> dict[str, Any]:
    return {"kind": "run", "key": key, "result": result.to_dict()}


def _execute(tasks: Sequence[Task], writer: resultsfile.Writer, jobs: int, progress: bool) -> int:
    """Run the tasks on ``jobs`` threads; write what they emit from this thread alone."""
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

    bar = tqdm(total=len(tasks), file=sys.stderr, disable=not (progress and sys.stderr.isatty()))
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
        # Ctrl-C or a failed run: start nothing new. Runs already going finish and reap their
        # own process trees (harness.run always does); keep what they found, then re-raise.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        drain()
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()
    return written


def _map_tasks(config: SweepConfig, out: Path, writer: resultsfile.Writer) -> tuple[list[Task], int]:
    """One task per (variant, message size) whose ``multiput`` record is not in the file yet."""
    known: dict[str, tuple[str, float]] = {
        rec["key"]: (rec["result"]["verdict"], rec["result"]["timings"]["wall_s"])
        for rec in resultsfile.records(out, "run")
        if "key" in rec
    }
    points = [(v, m) for v in config.variants for m in config.sizes]
    todo = [(v, m) for v, m in points if not writer.done(f"multiput:{v}:{m}")]
    return [_map_task(config, v, m, known) for v, m in todo], len(points)


def _map_task(config: SweepConfig, variant: str, size: int, known: Mapping[str, tuple[str, float]]) -> Task:
    """Run K puts of ``size`` bytes for every listed K, then find the first K that stalls
    exactly between the listed ones (the threshold search, prediction first)."""

    def task(emit: Emit, stop: threading.Event) -> None:
        from repro import threshold

        cells: dict[int, tuple[str, float]] = {}

        def stalls(k: int) -> bool:
            key = run_key(variant, size * k, k)
            if k not in cells and key in known:
                cells[k] = known[key]
            if k not in cells:
                if stop.is_set():
                    raise _Stopped
                result = harness.run(config.spec(variant, size * k, k))
                emit(_run_record(key, result))
                cells[k] = (result.verdict.value, result.timings.wall_s)
            return cells[k][0] == Verdict.STALLED.value

        stalled = [k for k in config.puts if stalls(k)]
        predicted = _predicted_puts(config, variant, size)
        if stalled:
            # Zero puts never stall, so the search may start below the smallest K listed.
            last_ok = max((k for k in config.puts if k < stalled[0]), default=0)
            guess = predicted - 1 if predicted is not None else None
            threshold.search(stalls, last_ok, stalled[0], guess)
        version = interpreters.probe(config.python).version  # cached since validate()
        record = multiput_record(config, variant, size, cells, predicted, version)
        emit({"kind": "multiput", "key": f"multiput:{variant}:{size}", **record})

    return task


def _predicted_puts(config: SweepConfig, variant: str, size: int) -> int | None:
    return predict_puts(config.python, size, config.capacity(variant)) if modelled(variant) else None


def multiput_record(
    config: SweepConfig,
    variant: str,
    message_size: int,
    cells: Mapping[int, tuple[str, float]],
    predicted: int | None,
    python_version: str,
) -> dict[str, Any]:
    """Measured vs predicted put count for one message size, from (verdict, seconds) per K.

    ``measured_puts`` is the smallest K that stalled (None: none of them); it is exact when
    K - 1 was run too and did not stall, which the search in ``_map_task`` makes sure of.
    """
    verdicts = {k: cells[k][0] for k in sorted(cells)}
    stalled = [k for k, v in verdicts.items() if v == Verdict.STALLED.value]
    measured = stalled[0] if stalled else None
    clean = all(v in (Verdict.OK.value, Verdict.STALLED.value) for v in verdicts.values())
    if predicted is not None:
        # Every K run, not only the first that stalled, must fall on the predicted side.
        agree: bool | None = clean and all((k >= predicted) == (k in stalled) for k in verdicts)
    else:
        agree = clean and not stalled if variants.get(variant).kind is variants.Kind.FIX else None
    return {
        "variant": variant,
        "message_size": message_size,
        "python": config.python,
        "python_version": python_version,
        "start_method": config.start_method,
        "pipe_size": config.pipe_size,
        "capacity": config.capacity(variant),
        "mode": config.mode.value,
        "puts_tried": list(verdicts),
        "verdicts": {str(k): v for k, v in verdicts.items()},
        "measured_puts": measured,
        "exact": measured is not None and (measured == 1 or verdicts.get(measured - 1) == Verdict.OK.value),
        "predicted_puts": predicted,
        "agree": agree,
        "probes": len(verdicts),
        "seconds": round(sum(sec for _, sec in cells.values()), 4),
    }


def summarize(
    config: SweepConfig, out: Path, ran: int = 0, skipped: int = 0, repaired: bool = False
) -> SweepSummary:
    """Counts per variant x verdict and where each variant began to stall, over the whole file."""
    counts: dict[str, dict[str, int]] = {}
    by_variant: dict[str, dict[int, str]] = {}
    for rec in resultsfile.records(out, "run"):
        spec, verdict = rec["result"]["spec"], rec["result"]["verdict"]
        row = counts.setdefault(spec["variant"], {})
        row[verdict] = row.get(verdict, 0) + 1
        if spec["puts"] == 1:
            by_variant.setdefault(spec["variant"], {})[spec["size"]] = verdict
    stalls = (
        () if config.puts else tuple(_stall_start(config, v, by_variant.get(v, {})) for v in config.variants)
    )
    multi = tuple(resultsfile.records(out, "multiput"))
    return SweepSummary(out, ran, skipped, repaired, counts, stalls, multi)


def _stall_start(config: SweepConfig, variant: str, verdicts: Mapping[int, str]) -> StallStart:
    stalled = [s for s, v in verdicts.items() if v == Verdict.STALLED.value]
    first = min(stalled) if stalled else None
    below = [s for s, v in verdicts.items() if v == Verdict.OK.value and (first is None or s < first)]
    predicted = predict_threshold(config.python, config.capacity(variant)) if modelled(variant) else None
    return StallStart(variant, max(below) if below else None, first, predicted)
