"""One diagnosis engine: snapshot -> wait-for graph -> verdict. Everything that watches calls it.

The public surface (``run``, ``spy``, ``watch``, the pytest plugin and ``joinstall.diagnose``):

* ``Verdict``      ``stalled`` | ``deadlocked`` | ``blocked`` | ``running``; ``.proven`` for the first two;
* ``Diagnosis``    the frozen, typed result: verdict, summary, the cycle in words, what breaks an
                   open wait, the fix, every thread's wait, stacks; ``to_dict()``/``from_dict()``
                   and ``text()`` (the report a user reads, within 100 columns);
* ``Watcher``      incremental: ``step()`` takes one sample of a tree and returns a proven
                   ``Diagnosis`` once a hang is proven (else None); ``last()`` the current view;
* ``diagnose``     sample a tree until proven or a budget is spent, then add py-spy stacks.
"""

from __future__ import annotations

from joinstall.engine.api import capture_stacks, diagnose
from joinstall.engine.diagnosis import Diagnosis, ThreadInfo, Verdict
from joinstall.engine.watcher import Watcher

__all__ = ["Diagnosis", "ThreadInfo", "Verdict", "Watcher", "capture_stacks", "diagnose"]
