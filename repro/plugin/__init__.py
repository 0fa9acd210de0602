"""pytest plugin: fail a test the moment a hang in its process tree is proven.

Off unless enabled: ``pytest --joinstall``, the ini option ``joinstall = true``, or a test's
``@pytest.mark.joinstall``. While each phase of a watched test runs, a monitor thread samples
the process tree of the pytest process (its own threads included) with joinstall's engine.
Once a hang is proven, the test fails with a ``joinstall`` report section: the verdict, the
wait-for cycle in words, the fix and py-spy's stacks. The stuck processes are killed, so the
next tests run; stuck threads of this process that cannot be freed would keep the interpreter
from exiting, so pytest then ends with ``os._exit`` (its exit status unchanged) after its
summary.

Registered through the ``pytest11`` entry point as ``joinstall``; ``-p no:joinstall`` unloads it.
This module imports no more than pytest needs until a test is watched.
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
MONITOR = pytest.StashKey["Monitor"]()
SESSION = pytest.StashKey[pytest.Session]()
ITEM_SETTINGS = pytest.StashKey[Settings]()
PHASES = pytest.StashKey[dict[str, "Phase"]]()

if TYPE_CHECKING:  # without importing the monitor's dependencies at start-up
    from joinstall.plugin.monitor import Monitor, Phase  # noqa: F401  (named in quotes below)


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
    """Watch the setup phase (fixtures can hang too)."""
    item.stash[ITEM_SETTINGS] = settings.for_item(item, item.config.stash[SETTINGS])
    return (yield from _watched(item, "setup"))


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Watch the test itself (innermost wrapper: pytest-timeout's timer is set by then)."""
    return (yield from _watched(item, "call"))


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Watch the teardown phase."""
    return (yield from _watched(item, "teardown"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the verdict to the report of the phase it concerns."""
    report = yield
    phase = item.stash.get(PHASES, {}).get(call.when)
    if phase is not None:
        from joinstall.plugin import report as text

        section = text.section(phase)
        if section is not None:
            report.sections.append(section)
        if phase.proven is not None and report.passed:
            # The hang was proven, then ended by its own timeout or by taking the stacks.
            report.outcome = "failed"
            report.longrepr = text.message(phase.proven)
    return report


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the monitor; exit at once if threads stuck in a proven hang would keep us alive."""
    monitor = config.stash.get(MONITOR, None)
    if monitor is None:
        return
    monitor.close()
    stuck = [t for t in monitor.leftover if t.is_alive()]
    session = config.stash.get(SESSION, None)
    if stuck and session is not None:
        names = ", ".join(f"{t.name!r}" for t in stuck)
        sys.stderr.write(
            f"joinstall: {len(stuck)} thread(s) of this process stuck in a proven hang ({names})"
            " would block interpreter exit; exiting now with pytest's exit status\n"
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(session.exitstatus))


def _watched(item: pytest.Item, when: str) -> Generator[None, None, None]:
    s = item.stash.get(ITEM_SETTINGS, None)
    if s is None or not s.enabled or not _available():
        return (yield)
    from joinstall.plugin.monitor import Monitor

    monitor = item.config.stash.get(MONITOR, None)
    if monitor is None:
        monitor = item.config.stash[MONITOR] = Monitor()
    phase = monitor.arm(item, when, s)
    try:
        return (yield)
    finally:
        monitor.disarm(phase)
        item.stash.setdefault(PHASES, {})[when] = phase


@functools.cache
def _available() -> bool:
    from joinstall.observe import procfs

    return procfs.available()
