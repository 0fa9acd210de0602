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
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from repro import harness, resultsfile, variants
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
        raise UsageError("dense points and their span cannot be negative")
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


def centres(python: str, pipe_size: int, names: Iterable[str]) -> list[int]:
    """Where the dense grid points go: the predicted one-put threshold of each pipe a chosen
    variant can fill (the configured one, and bigpipe's own when it is chosen)."""
    fill = [n for n in names if variants.get(n).kind is variants.Kind.BUG or n == "bigpipe"]
    return sorted({predict_threshold(python, capacity_of(n, pipe_size)) for n in fill})


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
        """(key, spec) of every run, in grid order. In a map the size is message size x K."""
        counts = self.puts or (1,)
        return [
            (run_key(v, m * k, k), self.spec(v, m * k, k))
            for v in self.variants
            for m in self.sizes
            for k in counts
        ]

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
        out.append(f"{self.ran} runs done, {self.skipped} already in {self.path} and skipped")
        for variant, by_verdict in self.counts.items():
            text = ", ".join(f"{n} {verdict}" for verdict, n in sorted(by_verdict.items()))
            out.append(f"  {variant}: {text}")
        for s in self.stalls:
            out.append("  " + _stall_text(s))
        for rec in self.multiput:
            out.append("  " + _multiput_text(rec))
        return out


def _stall_text(s: StallStart) -> str:
    pred = f" (model: {s.predicted:,})" if s.predicted is not None else ""
    if s.first_stalled is None:
        return f"{s.variant}: no stall on this grid{pred}"
    ok = f"ok up to {s.last_ok:,} B, " if s.last_ok is not None else ""
    return f"{s.variant}: {ok}stalled from {s.first_stalled:,} B{pred}"


def _multiput_text(rec: Mapping[str, Any]) -> str:
    measured = rec["measured_puts"]
    got = "no stall" if measured is None else f"stalls at {'' if rec['exact'] else '≤'}{measured} puts"
    pred = rec["predicted_puts"]
    agree = {True: "agrees", False: "DISAGREES", None: "no prediction"}[rec["agree"]]
    return f"{rec['variant']} {rec['message_size']:,} B x K: {got}, predicted {pred} ({agree})"


def run_sweep(config: SweepConfig, out: Path, resume: bool = True, progress: bool = True) -> SweepSummary:
    """Run every grid point that ``out`` does not hold yet; return the summary of the whole file."""
    config.validate()
    # The file is opened (created, or checked and repaired) before the first run starts.
    try:
        writer = resultsfile.Writer(out, config.to_dict(), resume=resume)
    except OSError as exc:
        raise ResultsError(f"cannot write {out}: {exc.strerror}; choose a writable -o path") from None
    with writer:
        runs = config.runs()
        todo = [(key, spec) for key, spec in runs if not writer.done(key)]
        _execute(todo, writer, config.jobs, progress)
        if config.puts:
            _write_multiput(config, writer, out)
    return summarize(config, out, ran=len(todo), skipped=len(runs) - len(todo), repaired=writer.repaired)


def _execute(
    todo: Sequence[tuple[str, RunSpec]], writer: resultsfile.Writer, jobs: int, progress: bool
) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="run", file=sys.stderr, disable=not (progress and sys.stderr.isatty()))
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sweep")
    futures: dict[Future[RunResult], str] = {pool.submit(harness.run, spec): key for key, spec in todo}
    try:
        for fut in as_completed(futures):
            _append_run(writer, futures.pop(fut), fut.result())
            bar.update()
    except BaseException:
        # Ctrl-C or a failed run: start nothing new. Runs already going finish and reap their
        # own process trees (harness.run always does); keep what they found, then re-raise.
        pool.shutdown(wait=True, cancel_futures=True)
        for fut, key in futures.items():
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                _append_run(writer, key, fut.result())
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()


def _append_run(writer: resultsfile.Writer, key: str, result: RunResult) -> None:
    writer.append({"kind": "run", "key": key, "result": result.to_dict()})


def _runs_by_key(out: Path) -> dict[str, dict[str, Any]]:
    return {rec["key"]: rec["result"] for rec in resultsfile.records(out, "run") if "key" in rec}


def _write_multiput(config: SweepConfig, writer: resultsfile.Writer, out: Path) -> None:
    """One ``multiput`` record per (variant, message size) whose runs are all in the file."""
    results = _runs_by_key(out)
    for v in config.variants:
        for m in config.sizes:
            key = f"multiput:{v}:{m}"
            cells = {k: results.get(run_key(v, m * k, k)) for k in sorted(set(config.puts))}
            if writer.done(key) or any(r is None for r in cells.values()):
                continue
            writer.append({"kind": "multiput", "key": key, **multiput_record(config, v, m, cells)})


def multiput_record(
    config: SweepConfig, variant: str, message_size: int, cells: Mapping[int, Mapping[str, Any] | None]
) -> dict[str, Any]:
    """Measured vs predicted put count for one message size, from the runs of each K tried."""
    verdicts = {k: str(r["verdict"]) if r else Verdict.ERROR.value for k, r in cells.items()}
    stalled = sorted(k for k, v in verdicts.items() if v == Verdict.STALLED.value)
    measured = stalled[0] if stalled else None
    # Exact only when the count just below was tried and did not stall (or K = 1 stalled).
    exact = measured is not None and (measured == 1 or verdicts.get(measured - 1) == Verdict.OK.value)
    capacity = config.capacity(variant)
    kind = variants.get(variant).kind
    predicted = None
    agree: bool | None = None
    if kind is variants.Kind.FIX:
        agree = not stalled
    elif kind in (variants.Kind.BUG, variants.Kind.MITIGATION) and variant != "popen_wait":
        predicted = predict_puts(config.python, message_size, capacity)
        agree = all((k >= predicted) == (k in stalled) for k in verdicts)
    first = next((r for r in cells.values() if r), None)
    return {
        "variant": variant,
        "message_size": message_size,
        "python": config.python,
        "python_version": first["python_version"] if first else None,
        "start_method": config.start_method,
        "pipe_size": config.pipe_size,
        "capacity": capacity,
        "puts_tried": sorted(verdicts),
        "verdicts": {str(k): v for k, v in sorted(verdicts.items())},
        "measured_puts": measured,
        "exact": exact,
        "predicted_puts": predicted,
        "agree": agree,
        "probes": len(verdicts),
        "seconds": round(sum(r["timings"]["wall_s"] for r in cells.values() if r), 4),
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
    info = variants.get(variant)
    # The one-put model applies to the variants whose queue pipe fills: the bugs and bigpipe.
    fills = info.kind is variants.Kind.BUG or variant == "bigpipe"
    predicted = predict_threshold(config.python, config.capacity(variant)) if fills else None
    return StallStart(variant, max(below) if below else None, first, predicted)
