"""The report's py-spy section: the engine's own report of a proven hang, and its stacks.

The words are the engine's (``Diagnosis.text``), cycle included: the report shows them once and
never re-derives them, so there is one vocabulary for the wait-for graph.
"""

from __future__ import annotations

from collections.abc import Sequence

from joinstall.analysis.records import Diagnosis

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
    lines += ["What /proc proved and py-spy named:", "", "```text", d.text().rstrip(), "```", ""]
    stacks = stacks_text(d)
    if stacks:
        lines += ["The stacks, innermost frame first:", "", "```text", stacks, "```"]
    return "\n".join(lines).rstrip()


def stacks_text(d: Diagnosis) -> str:
    """py-spy's stacks of every process, each under its pid."""
    return "\n\n".join(f"process {pid}:\n{text.rstrip()}" for pid, text in sorted(d.stacks.items()))
