"""A markdown report from results files: figures, variants x outcome, thresholds, a wait-for cycle.

Every file is written whole or not at all (a temporary file, then ``os.replace``), so a crash or
a full disk never leaves a half report that looks complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from analysis import figures, outcomes, series
from analysis.results import Diagnosis, Results
from analysis.units import human_bytes
from repro.errors import ResultsError
from repro.verdict import Verdict

REPORT_NAME = "report.md"
#: A stack longer than this is cut: the top frames say where each thread waits.
MAX_FRAMES = 12
#: The wait-for graph's edge kinds in words.
EDGE_WORDS = {
    "waits_exit": "waits for the exit of",
    "joins_thread": "waits for the end of",
    "writes": "is blocked writing into",
    "drained_by": "can be drained only by",
}


@dataclasses.dataclass(frozen=True)
class Report:
    path: Path
    figures: dict[str, Path]
    #: What the reader should know that is not an error (a missing fixed variant, torn lines).
    notes: tuple[str, ...]


def write(results: Results, directory: Path) -> Report:
    """Draw the figures the records allow and write ``directory/report.md`` next to them."""
    if results.empty:
        names = ", ".join(str(p) for p in results.sources)
        raise ResultsError(f"{names}: no records, only metadata; run `joinstall demo` to fill a results file")
    _prepare(directory)
    # The timeouts series is computed once: the figure draws it and the text quotes it.
    timeout_data = series.timeouts(results) if results.runs else None
    notes = _notes(results, timeout_data)
    drawn: dict[str, Figure] = {}
    if timeout_data is not None:
        drawn["timeouts"] = figures.draw_timeouts(timeout_data)
    if results.thresholds:
        drawn["thresholds"] = figures.thresholds(results)[0]
    if results.multiputs:
        drawn["multiput"] = figures.multiput(results)[0]
    if results.matrix:
        drawn["matrix"] = figures.matrix(results)[0]
    try:
        paths = {name: figures.save(fig, directory, name)[0] for name, fig in drawn.items()}
        path = directory / REPORT_NAME
        _atomic_write(path, render(results, paths, timeout_data, notes))
    except OSError as exc:
        raise ResultsError(
            f"cannot write the report into {directory}: {exc.strerror}; choose a writable -o folder"
        ) from None
    return Report(path, paths, tuple(notes))


def _prepare(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the report folder {directory}: {exc.strerror}; choose another -o"
        raise ResultsError(msg) from None
    if not os.access(directory, os.W_OK):
        raise ResultsError(f"the report folder {directory} is not writable; choose another -o")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _notes(results: Results, timeout_data: series.TimeoutSeries | None) -> list[str]:
    notes = []
    if timeout_data is not None and not timeout_data.has_fixed:
        notes.append(
            "these results have no single-message runs of the fixed variant, so the timeouts figure"
            " cannot show the fix next to the bug; add `--variant fixed` runs to compare"
        )
    notes += [f"{p}: its last line was torn (a crash while writing) and was skipped" for p in results.torn]
    return notes


def render(
    results: Results, paths: Mapping[str, Path], timeout_data: series.TimeoutSeries | None, notes: list[str]
) -> str:
    parts = [
        _header(results, notes),
        _timeouts_section(timeout_data, paths),
        _outcome_section(results),
        _threshold_section(results, paths),
        _multiput_section(results, paths),
        _matrix_section(results, paths),
        _cycle_section(results.diagnoses),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def _figure(paths: Mapping[str, Path], name: str, alt: str) -> str:
    if name not in paths:
        return "(figure not drawn)"
    png = paths[name].name
    return f"![{alt}]({png})\n\n(vector version: [{name}.svg]({name}.svg))"


def _header(results: Results, notes: list[str]) -> str:
    lines = ["# joinstall report", "", "Results read:"]
    for path, meta in zip(results.sources, results.metas, strict=True):
        interps = ", ".join(f"Python {v}" for v in (meta.get("interpreters") or {}).values()) or "?"
        lines.append(
            f"- `{path.name}`: written {meta.get('created', '?')} on {meta.get('system', '?')}"
            f" {meta.get('kernel', '?')}, page size {meta.get('page_size', '?')} B, default pipe capacity"
            f" {meta.get('pipe_capacity', '?')} B; {interps}"
        )
    lines += [
        "",
        f"{len(results.runs)} runs, {len(results.thresholds)} threshold measurements,"
        f" {len(results.multiputs)} multi-message measurements, {len(results.matrix)} matrix cells,"
        f" {len(results.diagnoses)} py-spy {'diagnosis' if len(results.diagnoses) == 1 else 'diagnoses'}.",
    ]
    headline = _headline(results)
    if headline:
        lines += ["", f"**In short:** {headline}"]
    lines += [f"\n**Note:** {n}." for n in notes]
    return "\n".join(lines)


def _headline(results: Results) -> str:
    """The measured threshold at the machine's default pipe capacity, in one sentence."""
    default = next((m.get("pipe_capacity") for m in results.metas if m.get("pipe_capacity")), None)
    measured = series.threshold_at(results.thresholds, default)
    if default is None or measured is None:
        return ""
    predicted = {t.predicted for t in results.thresholds if t.puts == 1 and t.capacity == default}
    said = ", ".join(f"{p:,}" for p in sorted(p for p in predicted if p is not None)) or "none"
    return (
        f"with the default {default:,}-byte pipe, one message of up to {measured:,} payload bytes passes"
        f" and {measured + 1:,} bytes stall the join until its timeout (predicted: {said})."
    )


def _timeouts_section(data: series.TimeoutSeries | None, paths: Mapping[str, Path]) -> str:
    head = "## Where the timeouts hit"
    if data is None:
        return f"{head}\n\nNo run records in these results, so there is nothing to plot here."
    text = [
        head, "",
        "Each point is one run: how long the parent's `join(T)` took, against the payload size. Runs"
        " stopped as soon as the stall was proven (fast mode) are drawn as open triangles at T: that is"
        " when their join would have returned. Filled points were measured.", "",
        _figure(paths, "timeouts", "time until join returns vs payload size"),
    ]  # fmt: skip
    if data.multi_put_runs:
        text.append(f"\n{data.multi_put_runs} multi-message runs are not in this figure (see the table).")
    return "\n".join(text)


def _outcome_section(results: Results) -> str:
    rows = outcomes.outcomes(results)
    if not rows:
        return ""
    lines = [
        "## Variants by outcome", "",
        "| variant | kind | expected | runs | ok | stalled | data loss | error | as expected |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for r in rows:
        c = r.counts
        check = f"{r.as_expected} of {r.runs - r.unchecked}"
        if r.unexpected:
            check += f", **{r.unexpected} not**"
        if r.unchecked:
            check += f" ({r.unchecked} unchecked)"
        lines.append(
            f"| {r.variant} | {r.kind} | {r.expectation} | {r.runs} | {c[Verdict.OK]} | {c[Verdict.STALLED]}"
            f" | {c[Verdict.DATA_LOSS]} | {c[Verdict.ERROR]} | {check} |"
        )
    if any(r.unchecked for r in rows):
        lines += [
            "", "Unchecked runs are multi-message runs, or runs through a pipe capacity with no threshold"
            " measurement in these results: the expected verdict depends on that threshold.",
        ]  # fmt: skip
    return "\n".join(lines)


def _threshold_section(results: Results, paths: Mapping[str, Path]) -> str:
    head = "## Single-message threshold: measured vs predicted"
    if not results.thresholds:
        return f"{head}\n\nNo threshold records in these results (`joinstall demo` measures them)."
    lines = [
        head, "",
        "The threshold is the largest payload that still passes. The prediction adds the 4-byte length"
        " header and the pickle framing to the payload and compares the sum with the pipe capacity.", "",
        "| pipe capacity | Python | start method | measured | predicted | agree | probes | seconds |",
        "|---:|---|---|---:|---:|---|---:|---:|",
    ]  # fmt: skip
    for t in sorted(results.thresholds, key=lambda t: (t.capacity, t.python_version, t.start_method)):
        lines.append(
            f"| {t.capacity:,} ({human_bytes(t.capacity)}) | {t.python_version} | {t.start_method}"
            f" | {_num(t.measured)} | {_num(t.predicted)} | {'yes' if t.agree else '**NO**'}"
            f" | {_num(t.probes)} | {_num(t.seconds, '.2f')} |"
        )
    lines += [
        "", _figure(paths, "thresholds", "threshold vs pipe capacity"), "",
        "The right panel shows what the pipe holds besides the payload: the length header and pickle's"
        " opcodes. Where it steps, pickle's own overhead changes (protocol 4 wraps small pickles in a"
        " 9-byte FRAME header and writes large payloads unframed).",
    ]  # fmt: skip
    return "\n".join(lines)


def _multiput_section(results: Results, paths: Mapping[str, Path]) -> str:
    head = "## Many messages: puts until the stall"
    if not results.multiputs:
        return f"{head}\n\nNo multi-message records in these results."
    checked = [m for m in results.multiputs if m.agree is not None]
    agree = sum(bool(m.agree) for m in checked)
    never = [m for m in results.multiputs if m.measured_puts is None]
    lines = [
        head, "",
        f"Measured and predicted agree for {agree} of {len(checked)} predicted message sizes. The pipe is"
        " counted in 4 KiB page slots, so the dotted byte-count line overestimates how many small"
        " messages fit.",
    ]  # fmt: skip
    if never:
        names = ", ".join(sorted({m.variant for m in never}))
        lines.append(f"{len(never)} measurements never stalled at any count tried ({names}).")
    lines += ["", _figure(paths, "multiput", "puts until the stall vs message size")]
    return "\n".join(lines)


def _matrix_section(results: Results, paths: Mapping[str, Path]) -> str:
    head = "## Interpreter by start method"
    if not results.matrix:
        return f"{head}\n\nNo matrix records in these results."
    bad = [m for m in results.matrix if not m.agree]
    summary = f"{len(results.matrix) - len(bad)} of {len(results.matrix)} cells agree with the prediction"
    if bad:
        summary += "; disagreeing: " + ", ".join(f"Python {m.python_version} {m.start_method}" for m in bad)
    return f"{head}\n\n{summary}.\n\n{_figure(paths, 'matrix', 'interpreter x start method matrix')}"


def _cycle_section(diagnoses: tuple[Diagnosis, ...]) -> str:
    head = "## An example wait-for cycle (py-spy)"
    if not diagnoses:
        return (
            f"{head}\n\nNo py-spy diagnosis in these results, so this report has no stacks. Run a stalled"
            " case with `joinstall run --spy` (or the demo) to record one."
        )
    d = diagnoses[0]
    lines = [head, ""]
    if d.text:
        lines += ["```", d.text.rstrip(), "```", ""]
    if d.cycle:
        lines += ["The cycle, step by step:", ""]
        lines += [f"{i}. {_step(step)}" for i, step in enumerate(d.cycle, 1)]
        lines.append("")
    for pid, stack in d.stacks.items():
        lines += [f"**Process {pid}**", "", "```", _stack_text(stack), "```", ""]
    return "\n".join(lines).rstrip()


def _step(step: Any) -> str:
    """A wait-for edge ({kind, from, to, basis, confirmed}) in words; anything else as JSON."""
    if isinstance(step, str):
        return step
    if isinstance(step, Mapping) and {"kind", "from", "to"} <= step.keys():
        verb = EDGE_WORDS.get(str(step["kind"]), str(step["kind"]).replace("_", " "))
        text = f"{_node(step['from'])} {verb} {_node(step['to'])}"
        if step.get("basis"):
            text += f": {step['basis']}"
        return text + (" (inferred from /proc only)" if step.get("confirmed") is False else "")
    return json.dumps(step, sort_keys=True)


def _node(node: Any) -> str:
    if isinstance(node, Mapping) and "pipe" in node:
        return f"pipe:[{node['pipe']}]"
    if isinstance(node, Mapping) and "pid" in node:
        return f"process {node['pid']} thread {node.get('tid', '?')}"
    return str(node)


def _stack_text(stack: Any) -> str:
    """py-spy's threads (dicts with frames), plain text, or anything else as JSON."""
    if isinstance(stack, str):
        text: str = stack
        try:
            # py-spy's own JSON output, kept verbatim by the capture.
            stack = json.loads(text)
        except ValueError:
            return text.rstrip()
    if isinstance(stack, Mapping) and isinstance(stack.get("threads"), list):
        stack = stack["threads"]
    if isinstance(stack, list) and all(isinstance(t, Mapping) and "frames" in t for t in stack):
        out = []
        for thread in stack:
            name = thread.get("thread_name") or thread.get("name") or "thread"
            tid = thread.get("os_thread_id") or thread.get("tid") or thread.get("thread_id") or "?"
            out.append(f"{name} (tid {tid})")
            frames = thread["frames"]
            for frame in frames[:MAX_FRAMES]:
                where = frame.get("short_filename") or frame.get("filename") or "?"
                out.append(f"    {frame.get('name', '?')} ({where}:{frame.get('line', '?')})")
            if len(frames) > MAX_FRAMES:
                out.append(f"    ... {len(frames) - MAX_FRAMES} more frames")
        return "\n".join(out)
    return json.dumps(stack, indent=1, sort_keys=True)


def _num(value: float | None, spec: str = ",") -> str:
    return "-" if value is None else format(value, spec)
