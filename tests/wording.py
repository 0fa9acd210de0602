"""Phrases no report may contain: each was once printed, and a reader stumbled on it."""

from __future__ import annotations

import re

#: Literal phrases, lower-cased: broken grammar, self-contradiction, doubled words.
NEVER = (
    "waits on in ",  # "waits on in read, waiting on ..."
    "waits in in ",
    "only nobody",  # an empty list of wakers read aloud
    "nobody could",
    "not a hang",  # under a section that says a timeout fired
    "live, not hung",
    "live thread can still end it",  # said when only the outside world could
    "give for ever",
    "for ever for ever",
    " ,",
    "((",
)
#: A word written twice in a row ("the the", "is is").
DOUBLED = re.compile(r"\b(\w+) \1\b", re.IGNORECASE)
#: Numbers are allowed twice in a row ("2 2" does not occur in words; pids may repeat in lists).
NUMBER = re.compile(r"^\d+$")


def stumbles(text: str) -> list[str]:
    """The phrases of ``text`` a reader would stumble on (none is the goal)."""
    lower = " ".join(text.split()).lower()
    found = [p for p in NEVER if p in lower]
    found += [m.group(0) for m in DOUBLED.finditer(lower) if not NUMBER.match(m.group(1))]
    return found
