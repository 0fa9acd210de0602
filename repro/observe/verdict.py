"""The outcome of one run of the target program: ok, stalled, data loss, or error.

The proof that a run is stalled comes from the diagnosis engine (``joinstall.engine``); this
only combines it with what the program itself reported (its ``RESULT`` line and exit code).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class Verdict(str, enum.Enum):
    OK = "ok"
    STALLED = "stalled"
    DATA_LOSS = "data_loss"
    ERROR = "error"


def classify(
    result: Mapping[str, Any] | None, proven: bool, exit_code: int | None, observed: bool = False
) -> Verdict:
    """The verdict of one run from the program's RESULT record and the engine's proof.

    ``observed``: the tree was watched through /proc all along, and a join of this timeout can
    be proven hung. Then a join that timed out without any proof only means T was shorter than
    the child's work: not a stall. Unwatched, the timeout is the only evidence there is.
    """
    if proven:
        return Verdict.STALLED
    if result is None:
        return Verdict.ERROR
    if result.get("child_alive_after_join") and not observed:
        return Verdict.STALLED
    if result.get("bytes_received") != result.get("size") or not result.get("sha256_match"):
        return Verdict.DATA_LOSS
    if exit_code != 0:
        return Verdict.ERROR
    return Verdict.OK
