"""pytest plugin: fail a test the moment a hang in its process tree is proven.

Off unless enabled: ``pytest --joinstall``, the ini option ``joinstall = true``, or a test's
``@pytest.mark.joinstall``. While a watched test runs (setup to teardown), a monitor process,
started once per session, samples the process tree of the pytest process (its threads
included) with joinstall's engine; no thread of joinstall runs in the pytest process.
Once a hang is proven, the test fails with a ``joinstall`` report section: the verdict, the
wait-for cycle in words, the fix and py-spy's stacks. The stuck processes are killed, so the
next tests run; stuck threads of this process that cannot be freed would keep the interpreter
from exiting, so pytest then ends with ``os._exit`` (its exit status unchanged) after its
summary. At a timeout nothing proved (pytest-timeout's, or the test's own ``TimeoutError``), the
section says so, shows what each thread waited on and every process's stacks, and every process
the test started is killed, so that pytest and the CI job can end.

Registered through the ``pytest11`` entry point as ``joinstall``; ``-p no:joinstall`` unloads it.
The hooks live in ``hooks`` and are re-exported here only when pytest is loading this package:
``joinstall watch`` and the monitor process use the plugin's other modules without pytest (which
is no dependency of joinstall). The pytest process imports the engine only once a hang, or a
timeout, is reported.
"""

from __future__ import annotations

import sys

if "pytest" in sys.modules:  # pytest loads its plugins after importing itself
    from joinstall.plugin.hooks import *  # noqa: F403
