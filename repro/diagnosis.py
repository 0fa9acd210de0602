"""The harness's way in to a py-spy diagnosis: ``diagnosis.capture(snapshot, evidence, parent_pid)``.

The harness calls it at proof time, before it kills the tree it started. The work is done by
``repro.spy`` (``repro.spy.capture``); this module keeps the harness's call short and stable.
"""

from __future__ import annotations

from typing import Any

from repro.observe.procfs import Snapshot
from repro.observe.verdict import StallEvidence
from repro.spy import capture as _capture


def capture(
    snapshot: Snapshot,
    evidence: StallEvidence | None,
    parent_pid: int,
    *,
    native: bool = False,
    locals_: bool = False,
) -> dict[str, Any] | None:
    """py-spy every Python process of the proven stall and explain it; None when nothing is proven.

    ``native``: add C frames (py-spy ``--native``, which stops each process briefly);
    ``locals_``: add each frame's local variables (py-spy ``--locals``).
    """
    return _capture.capture(snapshot, evidence, parent_pid, native=native, locals_=locals_)
