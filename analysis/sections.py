"""The report's markdown sections, one function each, from records and already computed series."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from joinstall.analysis import outcomes, registry
from joinstall.analysis.records import Results
from joinstall.analysis.series.thresholds import threshold_at
from joinstall.analysis.series.timeouts import TimeoutSeries
from joinstall.analysis.units import human_bytes
from joinstall.observe.verdict import Verdict
from joinstall.variants import FIX_ADVICE


def figure(paths: Mapping[str, Path], name: str, alt: str) -> str:
    if name not in paths:
        return "(figure not drawn)"
    png = paths[name].name
    return f"![{alt}]({png})\n\n(vector version: [{name}.svg]({name}.svg))"


def _bytes(value: object) -> str:
    return f"{value:,} B ({human_bytes(value)})" if isinstance(value, int) and value > 0 else "? B"


BUG = (
    "the parent calls `join(T)` before `get()`; once the child's queued message no longer fits"
    " into the pipe, the child's feeder thread blocks in `write()`, the child waits for it at exit,"
    " and `join` returns only at its timeout, with the child still alive."
)


def header(results: Results, notes: list[str]) -> str:
    """The bug, the measured threshold and the fix in three lines; then where the data came from."""
    said = headline(results) or "no single-message threshold was measured in these results."
    lines = [
        "# joinstall report",
        "",
        f"**The bug:** {BUG}  ",
        f"**Measured:** {said}  ",
        f"**The fix:** {FIX_ADVICE}.",
        "",
        "Results read:",
    ]
    # Files from one machine and one joinstall are one line, not one block each.
    groups: dict[str, list[str]] = {}
    for path, meta in zip(results.sources, results.metas, strict=True):
        interps = ", ".join(f"Python {v}" for v in sorted((meta.get("interpreters") or {}).values())) or "?"
        where = (
            f"joinstall {meta.get('tool_version', '?')} on {meta.get('system', '?')} {meta.get('kernel', '?')},"
            f" page size {_bytes(meta.get('page_size'))}, default pipe capacity"
            f" {_bytes(meta.get('pipe_capacity'))}; {interps}"
        )
        groups.setdefault(where, []).append(f"`{path.name}`")
    lines += [f"- {', '.join(names)}: {where}" for where, names in groups.items()]
    lines += [
        "",
        f"{len(results.runs)} runs, {len(results.thresholds)} threshold measurements,"
        f" {len(results.multiputs)} multi-message measurements, {len(results.matrix)} matrix cells,"
        f" {len(results.diagnoses)} py-spy {'diagnosis' if len(results.diagnoses) == 1 else 'diagnoses'}.",
    ]
    lines += [f"\n**Note:** {n}." for n in notes]
    return "\n".join(lines)


def headline(results: Results) -> str:
    """The measured threshold at the machine's default pipe capacity, in one sentence."""
    default = results.meta("pipe_capacity")
    measured = threshold_at(results.thresholds, default)
    if default is None or measured is None:
        return ""
    predicted = {t.predicted for t in results.thresholds if t.puts == 1 and t.capacity == default}
    said = ", ".join(f"{p:,}" for p in sorted(p for p in predicted if p is not None)) or "none"
    return (
        f"with the default {default:,}-byte ({human_bytes(default)}) pipe, one message of up to {measured:,}"
        f" payload bytes passes and {measured + 1:,} bytes stall the join until its timeout (predicted: {said})."
    )


def timeouts(data: TimeoutSeries | None, paths: Mapping[str, Path]) -> str:
    head = "## Where the timeouts hit"
    if data is None:
        return f"{head}\n\nNo run records in these results, so there is nothing to plot here."
    text = [
        head, "",
        "Each point is one run: how long the parent's `join(T)` took, against the payload size. Runs"
        " stopped as soon as the stall was proven (fast mode) are drawn as open triangles at T: that is"
        " when their join would have returned. Filled points were measured.", "",
        figure(paths, "timeouts", "time until join returns vs payload size"),
    ]  # fmt: skip
    if len(data.timeouts) > 1:
        said = ", ".join(f"{t:g} s" for t in data.timeouts)
        text.append(
            f"\nThese runs used {len(data.timeouts)} join timeouts (T = {said}); each panel holds the runs"
            " of one, on its own time axis, so a stall at one T is never read against another."
        )
    if data.by_luck:
        text.append(
            f"\nOpen purple circles mark the runs of a false fix that ended ok ({data.by_luck}):"
            f" {registry.OK_BY_LUCK}. The message reached the pipe before the child exited, this time;"
            " they are not fixed."
        )
    if data.multi_put_runs:
        text.append(f"\n{data.multi_put_runs} multi-message runs are not in this figure (see the table).")
    return "\n".join(text)


def outcome_table(results: Results) -> str:
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
        check = f"{r.as_expected} of {r.checked}"
        if r.unexpected:
            check += f", **{r.unexpected} not**"
        if r.unchecked:
            check += f" ({r.unchecked} unchecked)"
        if r.by_luck:
            check += f"; **{r.by_luck} {registry.OK_BY_LUCK}**, not counted"
        ok = f"{c[Verdict.OK]} by luck" if r.by_luck else str(c[Verdict.OK])
        lines.append(
            f"| {r.variant} | {r.kind} | {r.expectation} | {r.runs} | {ok} | {c[Verdict.STALLED]}"
            f" | {c[Verdict.DATA_LOSS]} | {c[Verdict.ERROR]} | {check} |"
        )
    lucky = [r.variant for r in rows if r.by_luck]
    if lucky:
        lines += [
            "", f"**Ok by luck is not fixed.** {', '.join(lucky)} ended ok in"
            f" {_runs(sum(r.by_luck for r in rows))} only because the message reached the pipe before the child"
            " exited. A false fix drops whatever its feeder had not yet written when the child exits, so the"
            " same code loses data on another run or with a larger payload. These runs are counted apart"
            " from the fixes and from the runs that were checked.",
        ]  # fmt: skip
    if any(r.unchecked for r in rows):
        lines += [
            "", "Unchecked runs are multi-message runs, or runs through a pipe capacity with no threshold"
            " measurement in these results: the expected verdict depends on that threshold.",
        ]  # fmt: skip
    return "\n".join(lines)


def thresholds(results: Results, paths: Mapping[str, Path]) -> str:
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
        "", figure(paths, "thresholds", "threshold vs pipe capacity"), "",
        "The right panel shows what the pipe holds besides the payload: the length header and pickle's"
        " opcodes. Where it steps, pickle's own overhead changes (protocol 4 wraps small pickles in a"
        " 9-byte FRAME header and writes large payloads unframed).",
    ]  # fmt: skip
    return "\n".join(lines)


def multiput(results: Results, paths: Mapping[str, Path]) -> str:
    head = "## Many messages: puts until the stall"
    if not results.multiputs:
        return f"{head}\n\nNo multi-message records in these results."
    checked = [m for m in results.multiputs if m.agree is not None]
    agree = sum(bool(m.agree) for m in checked)
    never = [m for m in results.multiputs if m.measured_puts is None]
    page = results.meta("page_size")
    slots = f"{human_bytes(page)} page slots" if page else "page slots"
    lines = [
        head, "",
        f"Measured and predicted agree for {agree} of {len(checked)} predicted message sizes. The pipe is"
        f" counted in {slots}, so the dotted byte-count line overestimates how many small messages fit.",
    ]  # fmt: skip
    if never:
        names = ", ".join(sorted({m.variant for m in never}))
        lines.append(f"{len(never)} measurements never stalled at any count tried ({names}).")
    lines += ["", figure(paths, "multiput", "puts until the stall vs message size")]
    return "\n".join(lines)


def matrix(results: Results, paths: Mapping[str, Path]) -> str:
    head = "## Interpreter by start method"
    if not results.matrix:
        return f"{head}\n\nNo matrix records in these results."
    bad = [m for m in results.matrix if not m.agree]
    summary = f"{len(results.matrix) - len(bad)} of {len(results.matrix)} cells agree with the prediction"
    if bad:
        summary += "; disagreeing: " + ", ".join(f"Python {m.python_version} {m.start_method}" for m in bad)
    return f"{head}\n\n{summary}.\n\n{figure(paths, 'matrix', 'interpreter x start method matrix')}"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _num(value: float | None, spec: str = ",") -> str:
    return "-" if value is None else format(value, spec)
