"""The plugin's pytest hooks (``joinstall.plugin`` re-exports them for pytest to find).

Arm the monitor for each watched test (setup to teardown), add what it found to the report of
the phase it concerns, wrap pytest-timeout's alarm or timer thread, and end the session cleanly.
A hang that was proven, or a timeout at which nothing was, gets a section in the failure (in the
terminal and in ``--junitxml``'s failure text), properties for the JUnit XML, and with
``--joinstall-save`` a file for ``joinstall explain``.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest
from joinstall.plugin import cleanup, settings
from joinstall.plugin.settings import Settings

if TYPE_CHECKING:  # without importing the client's dependencies at start-up
    from joinstall.plugin.client import Client, Record

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_report_header",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
    "pytest_sessionfinish",
    "pytest_sessionstart",
    "pytest_terminal_summary",
    "pytest_timeout_set_timer",
    "pytest_unconfigure",
]

SETTINGS = pytest.StashKey[Settings]()
CLIENT = pytest.StashKey["Client"]()
SESSION = pytest.StashKey[pytest.Session]()
RECORD = pytest.StashKey["Record"]()
#: The session has said that hangs are not proven on this platform.
SAID = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --joinstall, --joinstall-interval, --joinstall-no-stacks, --joinstall-save and their ini options."""
    settings.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and read the options once; a bad value stops the session here."""
    config.addinivalue_line("markers", settings.MARKER)
    config.stash[SETTINGS] = settings.from_config(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say that the plugin is on, and how it samples (or, without /proc, what it still does)."""
    s = config.stash[SETTINGS]
    if not s.enabled:
        return None
    if not _available():
        config.stash[SAID] = True
        return _no_proc()
    stacks = "with py-spy stacks" if s.stacks else "without stacks"
    saved = f"; diagnoses saved to {s.save}" if s.save is not None else ""
    return f"joinstall: every test's process tree sampled every {s.interval * 1000:g} ms, {stacks}{saved}"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Without /proc, say so once: here, when the header (``-q``) did not."""
    if config.stash[SETTINGS].enabled and not _available() and not config.stash.get(SAID, False):
        terminalreporter.write_line(_no_proc())


def pytest_sessionstart(session: pytest.Session) -> None:
    """Keep the session: its exit status is final only at unconfigure."""
    session.config.stash[SESSION] = session


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Arm the monitor for the whole test, from its setup (fixtures can hang too) to its teardown."""
    s = settings.for_item(item, item.config.stash[SETTINGS])
    if s.enabled:
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
    own = item.config.stash[CLIENT]
    own.check(record)
    if report.failed and call.excinfo is not None and not (record.proven or record.timeout):
        from joinstall.plugin import client

        expired = client.own_timeout(call.excinfo.value)
        if expired is not None:
            # The sample to show is the latest before the exception, not one of pytest's reporting.
            fired = time.monotonic() - max(0.0, time.time() - call.stop)
            own.at_timeout(record, f"the test's own timeout expired ({expired})", fired)
    found = _conclude(item, record, call.when)
    if found is not None:
        _place(item, report, record, found)
        if call.when == "teardown":  # its report has copied the test's properties already
            report.user_properties = list(item.user_properties)
    return report


def _conclude(item: pytest.Item, record: Record, when: str) -> tuple[str, str] | None:
    """The section of the report, once: the diagnosis saved first, so that it says where."""
    if record.reported or not (record.proven or record.timeout or record.failure):
        return None  # what every passing test costs here
    from joinstall.plugin import client, saving

    found = record.proven or record.at_timeout
    if found is not None and record.settings.save is not None and not record.saved:
        path, record.saved = saving.save(record.settings.save, saving.file_name(item.nodeid), found)
        record.saved_to = str(path or "")
    section = client.section(record, when)
    if section is not None and (record.proven or record.timeout):
        item.user_properties.extend(_properties(record))
    return section


def _properties(record: Record) -> list[tuple[str, object]]:
    """For ``--junitxml``: each test case's ``<properties>`` (pytest writes them from the teardown's report)."""
    found = record.proven
    if found is not None:
        props: list[tuple[str, object]] = [
            ("joinstall_verdict", found.verdict.value),
            ("joinstall_summary", found.summary),
            ("joinstall_cycle", "\n".join(found.cycle)),
            ("joinstall_fix", found.fix),
        ]
    else:
        from joinstall.plugin import report

        props = [("joinstall_verdict", "not proven"), ("joinstall_summary", report.headline(record))]
        if record.cleaned:
            props.append(("joinstall_killed", ", ".join(record.cleaned)))
    if record.saved_to:
        props.append(("joinstall_saved", record.saved_to))
    return props


def _place(item: pytest.Item, report: pytest.TestReport, record: Record, found: tuple[str, str]) -> None:
    """The section goes into the failure itself, so that ``--junitxml`` writes it into the
    failure's text (the captured-output sections are not written there), and a timeout's
    one-line verdict into the failure's message, which CI dashboards show first."""
    from joinstall.plugin import report as text

    title, body = found
    longrepr: Any = report.longrepr
    if record.proven is not None and report.passed:
        # The hang was proven, then ended by its own timeout or by taking the stacks.
        report.outcome = "failed"
        report.longrepr = longrepr = _failure(item, text.message(record.proven))
    if report.failed and hasattr(longrepr, "addsection"):
        longrepr.addsection(title, body)
        crash = getattr(longrepr, "reprcrash", None)
        if record.proven is None and record.timeout and crash is not None:
            crash.message = f"{crash.message} [{text.headline(record)}]"
    else:
        report.sections.append(found)


def _failure(item: pytest.Item, message: str) -> Any:
    """A failure's representation with ``message`` and no traceback (the hang ended by itself)."""
    from _pytest._code.code import ReprExceptionInfo, ReprFileLocation, ReprTracebackNative

    path, lineno, _ = item.location
    return ReprExceptionInfo(
        reprtraceback=ReprTracebackNative([f"E   {line}\n" for line in message.splitlines()]),
        reprcrash=ReprFileLocation(path, (lineno or 0) + 1, message),
    )


@pytest.hookimpl(wrapper=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: object) -> Generator[None, object, object]:
    """pytest-timeout set its SIGALRM handler or started its timer thread: wrap either, so that
    when it fires the report has joinstall's view, the stacks, and the test's processes are killed."""
    alarm = signal.getsignal(signal.SIGALRM)
    result = yield
    if item.config.stash[SETTINGS].enabled or item.get_closest_marker("joinstall"):
        timer = _timer(item)
        if timer is not None:
            _client(item.config).wrap_timer(timer, functools.partial(_timer_fired, item))
        elif signal.getsignal(signal.SIGALRM) is not alarm:
            _client(item.config).wrap_alarm()
    return result


def _timer(item: pytest.Item) -> threading.Timer | None:
    """pytest-timeout's timer (thread method): its cancel function holds it."""
    cancel = getattr(item, "cancel_timeout", None)
    for cell in getattr(cancel, "__closure__", None) or ():
        if isinstance(cell.cell_contents, threading.Timer):
            return cell.cell_contents
    return None


def _timer_fired(item: pytest.Item, record: Record) -> None:
    """pytest-timeout's thread method will end pytest with ``os._exit``: print our section first,
    then (called again once they are killed) the test's processes."""
    from joinstall.plugin import report

    writer = item.config.get_terminal_writer()
    if record.cleaned is not None:
        writer.line(f"joinstall: {report.killed_line(record.cleaned)}")
        writer.flush()
        return
    found = _conclude(item, record, "call")
    if found is None:
        return
    capman = item.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.suspend_global_capture(in_=True)
    writer.line("")
    writer.sep("+", found[0])
    writer.line(found[1])
    writer.flush()


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

        client = config.stash[CLIENT] = Client(observe=_available())
    return client


def _no_proc() -> str:
    from joinstall.plugin import report

    return f"joinstall: {report.NO_PROC}"


@functools.cache
def _available() -> bool:
    return cleanup.available()
