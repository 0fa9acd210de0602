"""One diagnosis engine: snapshot -> wait-for graph -> verdict. Everything that watches calls it.

The modules, in the order data flows: ``snapshot`` (with ``sockets``: the kernel's socket
tables) reads a tree; ``waits`` turns each thread into the set of threads that could wake it;
``graph`` finds what is stuck for good; ``watcher`` proves it over two samples (``departures``
notes who left the tree); ``words`` and ``causes`` say it; ``evidence`` and ``saved`` keep it.

The public surface (``run``, ``spy``, ``watch``, the pytest plugin and ``joinstall.diagnose``):

* ``Verdict``      ``stalled`` | ``deadlocked`` | ``blocked`` | ``running``; ``.proven`` for the first two;
* ``Diagnosis``    the frozen, typed result: verdict, summary, the cause where one is known, the
                   cycle in words, what can still end an open wait, the fix, every thread's wait,
                   stacks; ``to_dict()``/``from_dict()`` and ``text()`` (within 100 columns);
                   ``.evidence`` what it was computed from (``evidence.Evidence``: the samples,
                   the settings, py-spy's names), which ``saved`` writes and ``explain`` replays;
* ``Watcher``      incremental: ``step()`` takes one sample of a tree and returns a proven
                   ``Diagnosis`` once a hang is proven (else None); ``last()`` the current view;
* ``diagnose``     sample a tree until proven or a budget is spent, then add py-spy stacks.
"""

from __future__ import annotations

from joinstall.engine.api import capture_stacks, diagnose
from joinstall.engine.diagnosis import Diagnosis, ThreadInfo, Verdict
from joinstall.engine.watcher import Watcher

__all__ = ["Diagnosis", "ThreadInfo", "Verdict", "Watcher", "capture_stacks", "diagnose"]
