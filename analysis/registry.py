"""How the analysis reads the variant registry: order, kind, which pipe bounds a variant, and luck.

One place, so the outcomes table, the figures and the report sort the same way, call a false
fix that ended ok the same name, and agree on which measured threshold belongs to which variant.
"""

from __future__ import annotations

from joinstall.observe.verdict import Verdict
from joinstall.variants import REGISTRY, Kind

UNKNOWN_KIND = "unknown variant"
#: What an ok run of a false fix is: the data happened to arrive, this time.
OK_BY_LUCK = "ok by luck — data can be lost"


def order(name: str) -> tuple[int, str]:
    """Sort key: registry order (bug first, then its fixes), unknown variants last by name."""
    names = list(REGISTRY)
    return (names.index(name), name) if name in names else (len(names), name)


def kind(name: str) -> Kind | None:
    variant = REGISTRY.get(name)
    return variant.kind if variant else None


def kind_label(name: str) -> str:
    k = kind(name)
    return k.value if k else UNKNOWN_KIND


def ok_by_luck(name: str, verdict: Verdict) -> bool:
    """An ok run of a false fix: it proves nothing, since the variant drops unsent data at exit.

    Below the threshold the message usually escapes before the child exits (a race), so the
    verdict is honestly ok; it must never read as "fixed".
    """
    return verdict is Verdict.OK and kind(name) is Kind.FALSE_FIX


def queue_pipe_bounds(name: str) -> bool:
    """Whether the queue pipe's measured threshold bounds this variant's payload at all.

    True for every variant whose payload goes through a queue pipe that can fill, except the
    sibling: popen_wait's parent reads its queue first, so only the subprocess's stdout pipe
    (raw bytes, 65,536 at the default capacity) can stall it.
    """
    variant = REGISTRY.get(name)
    return variant is not None and variant.pipe_bytes is not None and variant.kind is not Kind.SIBLING
