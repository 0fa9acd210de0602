"""How every message names a process and a thread: ``parent 12``, ``main thread``, ``thread 13``.

One place, so that the verdict, the wait-for cycle, the thread table and the stacks call the
same thread the same thing. py-spy's thread name (``MainThread``, ``QueueFeederThread``) wins
when it is known: it is what the user's code calls the thread.
"""

from __future__ import annotations

from collections.abc import Mapping


def thread(pid: int, tid: int, name: str | None = None) -> str:
    """``name`` if py-spy gave one, else ``main thread`` (the thread whose id is the pid) or ``thread TID``."""
    if name:
        return name
    return "main thread" if tid == pid else f"thread {tid}"


def process(pid: int, roles: Mapping[int, str]) -> str:
    """``parent 12``, ``child 13``, ``sh 14``: the process's role (or name) and its pid."""
    return f"{roles.get(pid, 'process')} {pid}"
