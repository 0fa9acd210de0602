"""pytest plugin: fail a test the moment a hang in its process tree is proven.

Off unless enabled: ``pytest --joinstall``, the ini option ``joinstall = true``, or a test's
``@pytest.mark.joinstall``. While a watched test runs (setup to teardown), a monitor process,
started once per session, samples the process tree of the pytest process (its threads
included) with joinstall's engine; no thread of joinstall runs in the pytest process.
Once a hang is proven, the test fails with a ``joinstall`` report section: the verdict, the
wait-for cycle in words, the fix and py-spy's stacks. The stuck processes are killed, so the
next tests run; stuck threads of this process that cannot be freed would keep the interpreter
from exiting, so pytest then ends with ``os._exit`` (its exit status unchanged) after its
summary.

Registered through the ``pytest11`` entry point as ``joinstall``; ``-p no:joinstall`` unloads it.
This module imports no more than pytest needs until a test is watched, and the pytest process
imports the engine only once a hang is reported.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest
from joinstall.plugin import settings
from joinstall.plugin.settings import Settings

SETTINGS = pytest.StashKey[Settings]()
CLIENT = pytest.StashKey["Client"]()
SESSION = pytest.StashKey[pytest.Session]()
RECORD = pytest.StashKey["Record"]()

if TYPE_CHECKING:  # without importing the client's dependencies at start-up
    from joinstall.plugin.client import Client, Record  # noqa: F401  (named in quotes above)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --joinstall, --joinstall-interval, --joinstall-no-stacks and their ini options."""
    settings.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and read the options once; a bad value stops the session here."""
    config.addinivalue_line("markers", settings.MARKER)
    config.stash[SETTINGS] = settings.from_config(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say that the plugin is on, and how it samples."""
    s = config.stash[SETTINGS]
    if not s.enabled:
        return None
    if not _available():
        return "joinstall: off (this platform has no Linux /proc to observe processes through)"
    stacks = "with py-spy stacks" if s.stacks else "without stacks"
    return f"joinstall: every test's process tree sampled every {s.interval * 1000:g} ms, {stacks}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Keep the session: its exit status is final only at unconfigure."""
    session.config.stash[SESSION] = session


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Arm the monitor for the whole test, from its setup (fixtures can hang too) to its teardown."""
    s = settings.for_item(item, item.config.stash[SETTINGS])
    if s.enabled and _available():
        item.stash[RECORD] = _client(item.config).arm(s)
    return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Disarm the monitor once the teardown is over."""
    try:
        return (yield)
    finally:
        record = item.stash.get(RECORD, None)
        if record is not None:
            item.config.stash[CLIENT].disarm(record)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the verdict to the report of the phase it concerns."""
    report = yield
    record = item.stash.get(RECORD, None)
    if record is None:
        return report
    from joinstall.plugin import client
    from joinstall.plugin import report as text

    item.config.stash[CLIENT].check(record)
    section = client.section(record, call.when)
    if section is not None:
        report.sections.append(section)
        if record.proven is not None and report.passed:
            # The hang was proven, then ended by its own timeout or by taking the stacks.
            report.outcome = "failed"
            report.longrepr = text.message(record.proven)
    return report


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: object) -> Generator[None, object, object]:
    """pytest-timeout set its SIGALRM handler: wrap it, for joinstall's view when it fires."""
    result = yield
    if (item.config.stash[SETTINGS].enabled or item.get_closest_marker("joinstall")) and _available():
        _client(item.config).wrap_alarm()
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """End the monitor process before anyone looks for processes the tests left behind."""
    client = session.config.stash.get(CLIENT, None)
    if client is not None:
        client.close()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Exit at once if threads stuck in a proven hang would keep us alive."""
    client = config.stash.get(CLIENT, None)
    if client is None:
        return
    client.close()
    stuck = [t for t in client.leftover if t.is_alive()]
    session = config.stash.get(SESSION, None)
    if stuck and session is not None:
        # One line: the report's joinstall section already names the threads and their hang.
        sys.stderr.write(
            f"joinstall: {len(stuck)} stuck thread(s) would block interpreter exit; exiting now"
            " (fix the hang shown above)\n"
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(session.exitstatus))


def _client(config: pytest.Config) -> Client:
    """The session's client, made at its first use (the monitor starts at the first arm)."""
    client = config.stash.get(CLIENT, None)
    if client is None:
        from joinstall.plugin.client import Client

        client = config.stash[CLIENT] = Client()
    return client


@functools.cache
def _available() -> bool:
    # procfs.available()'s test, without importing joinstall.observe (psutil): ~15 ms a session.
    return os.path.exists("/proc/self/task") and os.path.exists("/proc/self/syscall")
