"""A capture in plain words, drawn from its JSON-ready result alone (compute, then render).

``render`` gives the summary every stall prints (cycle, threads, what is missing, the fix);
``stacks`` gives py-spy's full stacks per process, for ``joinstall spy --stacks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from joinstall.observe import names


def render(result: Mapping[str, Any]) -> str:
    """The capture in plain words: the cycle first, then the threads, what is missing, the fix."""
    lines = []
    spied = any(p["dumped"] for p in result["processes"])
    if result["cycle_text"]:
        how = "py-spy + /proc" if spied else "/proc alone"
        lines.append(f"WAIT-FOR CYCLE ({how}): {result['cycle_text']}")
        inferred = [e for e in result["cycle"] if not e["confirmed"]]
        lines += [f"  (inferred) {e['basis']}" for e in inferred]
        lines += [f"  also stuck behind it: {s}" for s in result["blocked_behind"]]
    else:
        found = "; ".join(result["open_waits"])
        lines.append(f"WAIT-FOR CYCLE: not closed from what could be seen; waits found: {found}")
    lines.append("THREADS:")
    for row in result["threads"]:
        who = f"{row['role']} {row['pid']} {names.thread(row['pid'], row['tid'], row['name'])}"
        if row["label"]:
            lines.append(f"  {who}: {row['label']} — {row['description']}; at {row['frame'] or '?'}")
        else:
            lines.append(f"  {who}: in {row['syscall']} [wchan {row['wchan'] or '?'}] (from /proc)")
    listed = [p for p in result["processes"] if not p["python"]]
    if listed:
        listing = ", ".join(f"{p['name']} {p['pid']}" for p in listed)
        lines.append(f"NOT PYTHON (listed, not dumped; state from /proc): {listing}")
    groups: dict[tuple[str, str], list[str]] = {}
    for m in result["missing"]:
        groups.setdefault((m["error"], m["fix"]), []).append(f"{m['role']} {m['pid']}")
    for (error, fix), whom in groups.items():
        lines.append(f"MISSING py-spy stacks of {', '.join(whom)}: {error}; fix: {fix}")
    if result["missing"]:
        lines.append(
            "  without them, thread roles come from /proc syscalls (futex, poll, write) and fd tables:"
            " the verdict stands, but which Python code waits is not shown"
        )
    lines.append(f"FIX: {result['fix']}")
    return "\n".join(lines)


def stacks(result: Mapping[str, Any]) -> str:
    """py-spy's stacks of every dumped process, headed by its role: ``STACKS of parent 12:``."""
    roles = {p["pid"]: p["role"] for p in result["processes"]}
    blocks = [
        f"STACKS of {names.process(int(pid), roles)}:\n" + "\n".join(f"  {ln}" for ln in body.splitlines())
        for pid, body in result.get("stacks_text", {}).items()
    ]
    return "\n".join(blocks) if blocks else "STACKS: none (py-spy dumped no process; see MISSING above)"
