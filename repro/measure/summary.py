"""What a sweep's results file holds, per variant: verdict counts, where the stall began, the map.

Computed from the whole file (a resumed sweep reports every run, not only its own), then
rendered as lines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from joinstall import resultsfile
from joinstall.measure import grid
from joinstall.model import pipemodel
from joinstall.observe.verdict import Verdict

if TYPE_CHECKING:
    # Only a type here: the sweep summarizes itself, so a runtime import would be circular.
    from joinstall.measure.sweep import SweepConfig


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
        for variant, by_verdict in sorted(self.counts.items()):
            text = ", ".join(f"{n} {verdict}" for verdict, n in sorted(by_verdict.items()))
            start = starts.get(variant)
            if start and (start.first_stalled is not None or start.predicted is not None):
                text += f"; {stall_text(start)}"
            out.append(f"  {variant}: {text}")
        for rec in sorted(self.multiput, key=lambda r: (r["variant"], r["message_size"])):
            out.append("  " + multiput_text(rec))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON values, variants and verdicts sorted."""
        return {
            "path": str(self.path),
            "ran": self.ran,
            "skipped": self.skipped,
            "repaired": self.repaired,
            "counts": {v: dict(sorted(c.items())) for v, c in sorted(self.counts.items())},
            "stalls": [dataclasses.asdict(s) for s in sorted(self.stalls, key=lambda s: s.variant)],
            "multiput": sorted(self.multiput, key=lambda r: (r["variant"], r["message_size"])),
        }


def stall_text(s: StallStart) -> str:
    pred = f" (model: {s.predicted:,})" if s.predicted is not None else ""
    if s.first_stalled is None:
        return f"no stall on this grid{pred}"
    ok = f"ok up to {s.last_ok:,} B, " if s.last_ok is not None else ""
    return f"{ok}stalled from {s.first_stalled:,} B{pred}"


def multiput_text(rec: Mapping[str, Any]) -> str:
    measured, predicted = rec["measured_puts"], rec["predicted_puts"]
    top = max(rec["puts_tried"], default=0)
    got = f"no stall up to {top} puts" if measured is None else f"stalls at {measured} puts"
    pred = "" if predicted is None else f", predicted {predicted}"
    if rec["agree"] is None:
        agree = "no prediction" if predicted is None else "unknown: no count tried reaches the prediction"
    else:
        agree = "agrees" if rec["agree"] else "DISAGREES"
    return f"{rec['variant']} {rec['message_size']:,} B messages: {got}{pred} ({agree})"


def summarize(
    config: SweepConfig, out: Path, ran: int = 0, skipped: int = 0, repaired: bool = False
) -> SweepSummary:
    """Counts per variant x verdict and where each variant began to stall, over the whole file."""
    counts: dict[str, dict[str, int]] = {}
    by_variant: dict[str, dict[int, str]] = {}
    # The file is read once: a long sweep's file is large, and both kinds come from it.
    _, recs, _ = resultsfile.read(out)
    for rec in (r for r in recs if r.get("kind") == "run"):
        spec, verdict = rec["result"]["spec"], rec["result"]["verdict"]
        row = counts.setdefault(spec["variant"], {})
        row[verdict] = row.get(verdict, 0) + 1
        if spec["puts"] == 1:
            by_variant.setdefault(spec["variant"], {})[spec["size"]] = verdict
    stalls = (
        () if config.puts else tuple(_stall_start(config, v, by_variant.get(v, {})) for v in config.variants)
    )
    multi = tuple(r for r in recs if r.get("kind") == "multiput")
    return SweepSummary(out, ran, skipped, repaired, counts, stalls, multi)


def _stall_start(config: SweepConfig, variant: str, verdicts: Mapping[int, str]) -> StallStart:
    stalled = [s for s, v in verdicts.items() if v == Verdict.STALLED.value]
    first = min(stalled) if stalled else None
    below = [s for s, v in verdicts.items() if v == Verdict.OK.value and (first is None or s < first)]
    predicted = (
        pipemodel.predict_threshold(config.python, config.capacity(variant))
        if grid.modelled(variant)
        else None
    )
    return StallStart(variant, max(below) if below else None, first, predicted)
