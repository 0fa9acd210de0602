"""The report's py-spy section: the engine's own words for the wait-for cycle, and the stacks.

The words come from the capture (``joinstall.spy``): its ``text`` and ``cycle_text``, and its
``stacks_text`` when the file has one. The text already walks through the cycle, so the cycle is
shown on a line of its own only when the text does not say it: never twice. Files written before the engine kept readable stacks get
the same rendering here, from py-spy's raw JSON (``joinstall.spy.stacks.parse`` and ``render``):
one vocabulary and one stack format, whoever draws them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from joinstall.analysis.records import Diagnosis
from joinstall.spy import stacks as spy_stacks

HEAD = "## An example wait-for cycle (py-spy)"


def section(diagnoses: Sequence[Diagnosis]) -> str:
    if not diagnoses:
        return (
            f"{HEAD}\n\nNo py-spy diagnosis in these results, so this report has no stacks. Run a stalled"
            " case with `joinstall run --spy` (or the demo) to record one."
        )
    d = diagnoses[0]
    lines = [HEAD, ""]
    if len(diagnoses) > 1:
        lines += [f"The first of {len(diagnoses)} captures in these results.", ""]
    if d.cycle_text and not says(d.text, d.cycle_text):
        lines += [f"**The cycle:** {d.cycle_text}", ""]
    if d.text:
        lines += ["What py-spy and /proc showed:", "", "```text", d.text.rstrip(), "```", ""]
    stacks = stacks_text(d)
    if stacks:
        lines += ["The stacks, innermost frame first:", "", "```text", stacks, "```"]
    return "\n".join(lines).rstrip()


def says(text: str, cycle: str) -> bool:
    """Whether ``text`` holds every step of ``cycle`` (a step a line), however it was wrapped."""

    def squeeze(s: str) -> str:
        return "".join(s.split())

    flat = squeeze(text)
    return all(squeeze(step) in flat for step in cycle.splitlines() if step.strip())


def stacks_text(d: Diagnosis) -> str:
    """The engine's readable stacks, or the same rendering made here from the raw JSON (older files)."""
    if d.stacks_text:
        return d.stacks_text.rstrip()
    return "\n\n".join(f"process {pid}:\n{render_raw(raw)}" for pid, raw in d.stacks.items())


def render_raw(raw: Any) -> str:
    """One process's ``py-spy dump --json`` as text; anything that is not such a dump, as it is."""
    text = raw if isinstance(raw, str) else json.dumps(raw, indent=1, sort_keys=True)
    try:
        return spy_stacks.render(spy_stacks.parse(text))
    except spy_stacks.SpyError:
        return text.rstrip()
