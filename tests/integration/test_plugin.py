"""The pytest plugin on small user projects, each run as a real pytest session in a subprocess.

Every stalled test below really hangs without the plugin (1 MiB through a 64 KiB pipe). The
sessions run under pytester with a hard timeout, and after each one no process it started may
be alive: the plugin must have stopped what the stalled tests left behind.
"""

from __future__ import annotations

import contextlib
import textwrap
import time

import psutil
import pytest
from joinstall import reaper

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.integration

#: One test per way a test's main thread can block, a live slow consumer, and a test after.
FAMILIES = """
import multiprocessing as mp, os, subprocess, sys, threading, time
MIB = 1 << 20

def child(q):
    q.put(b"x" * MIB)

def stalled_child(out):
    q = mp.Queue()
    g = mp.Process(target=child, args=(q,))
    g.start()
    g.join()
    out.put(q.get())

def pipe_child(w):
    stalled_child(mp.Queue())
    os.write(w, b"done")

def test_join():
    q = mp.Queue(); p = mp.Process(target=child, args=(q,)); p.start()
    p.join()

def test_join_timeout():
    q = mp.Queue(); p = mp.Process(target=child, args=(q,)); p.start()
    p.join(60)

def test_popen_wait():
    code = "import sys; sys.stdout.write('x' * (1 << 20))"
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as p:
        p.wait()

def test_thread_join():
    r, w = os.pipe()
    def writer():
        with os.fdopen(w, "wb") as f:
            f.write(b"x" * MIB)
    t = threading.Thread(target=writer); t.start()
    t.join()

def test_queue_get():
    out = mp.Queue(); c = mp.Process(target=stalled_child, args=(out,)); c.start()
    out.get()

def test_os_read():
    r, w = os.pipe()
    c = mp.Process(target=pipe_child, args=(w,)); c.start(); os.close(w)
    os.read(r, 4)

def test_slow_consumer():
    q = mp.Queue(); p = mp.Process(target=child, args=(q,)); p.start()
    time.sleep(0.6)  # the pipe is full and the child blocked, but this reader is alive
    assert len(q.get()) == MIB
    p.join()

def test_after_the_stalls():
    time.sleep(0.1)
"""
STALLED = [
    "test_join",
    "test_join_timeout",
    "test_popen_wait",
    "test_thread_join",
    "test_queue_get",
    "test_os_read",
]


def descendants() -> set[int]:
    """Live descendants of this process (zombies do not count: nothing runs in them)."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                out.add(p.pid)
        except psutil.Error:
            continue
    return out


@pytest.fixture
def no_leaks():
    """Fail if the session under test left any process alive."""
    before = descendants()
    yield
    deadline = time.monotonic() + 5
    while (left := descendants() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    commands = []
    for pid in sorted(left):
        with contextlib.suppress(psutil.Error):
            commands.append(" ".join(psutil.Process(pid).cmdline()))
    reaper.kill_and_clean(sorted(left))  # a failed check leaves nothing for the next tests
    assert not left, commands


def run(pytester: pytest.Pytester, *args: str, timeout: float = 90) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", *args, timeout=timeout)


def check_families(result: pytest.RunResult) -> None:
    result.assert_outcomes(failed=len(STALLED), passed=2)
    text = result.stdout.str()
    for name in STALLED:
        # Usually interrupted where it blocks (HangProven); py-spy's dump can end a raw write
        # early and free the test, which then fails on the proof alone ("joinstall: stalled").
        assert f"FAILED test_families.py::{name} - joinstall" in text, name
    result.stdout.fnmatch_lines(
        [
            "*joinstall: hang proven in call*",
            "STALLED: * wait for each other in a closed cycle*",
            "The wait-for cycle:",
            "Fix: drain the queue before joining*",
            "py-spy stacks of process *",
            "Stopped (SIGKILL): process(es) *",
        ]
    )
    assert "Fix: read the child's output while waiting" in text
    assert "Freed this process's stuck thread(s) by closing pipe fd(s)" in text
    assert "until its timeout ends (within 60 s)" in text  # join(60) is a timed cycle


@pytest.mark.timeout(120)
def test_every_family_fails_fast_and_the_session_ends(pytester: pytest.Pytester, no_leaks: None) -> None:
    pytester.makepyfile(test_families=FAMILIES)
    start = time.monotonic()
    result = run(pytester, "--joinstall")
    check_families(result)
    # Six hangs, each proven within a few 50 ms samples plus its stacks, not at any timeout.
    assert time.monotonic() - start < 30, result.stdout.str()


@pytest.mark.timeout(150)
def test_under_xdist(pytester: pytest.Pytester, no_leaks: None) -> None:
    pytester.makepyfile(test_families=FAMILIES)
    result = run(pytester, "--joinstall", "-n", "2")
    check_families(result)


USER_PACKAGES = {
    "analysis/__init__.py": "NAME = 'the user analysis'\n",
    "repro/__init__.py": "NAME = 'the user repro'\n",
    "test_uses_them.py": """
import multiprocessing as mp
import analysis, repro

def child(q):
    q.put(b"x" * (1 << 20))

def test_own_packages():
    assert analysis.NAME == "the user analysis" and repro.NAME == "the user repro"

def test_stall():
    q = mp.Queue(); p = mp.Process(target=child, args=(q,)); p.start(); p.join()
""",
}


@pytest.mark.timeout(120)
def test_a_user_project_with_its_own_analysis_and_repro(pytester: pytest.Pytester, no_leaks: None) -> None:
    for path, body in USER_PACKAGES.items():
        pytester.path.joinpath(path).parent.mkdir(exist_ok=True)
        pytester.path.joinpath(path).write_text(textwrap.dedent(body))
    pytester.makeini("[pytest]\npythonpath = .\njoinstall = true\n")
    result = run(pytester)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*test_stall*HangProven*"])


SERVICES = """
import multiprocessing as mp, os
import pytest

def child(q):
    q.put(b"x" * (1 << 20))

@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_stall(method):
    ctx = mp.get_context(method)
    q = ctx.Queue(); p = ctx.Process(target=child, args=(q,)); p.start(); p.join()

def test_the_services_live_on():
    from multiprocessing import forkserver, resource_tracker
    for pid in (resource_tracker._resource_tracker._pid, forkserver._forkserver._forkserver_pid):
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "killed"
"""


@pytest.mark.timeout(120)
def test_the_resource_tracker_and_the_forkserver_are_never_killed(
    pytester: pytest.Pytester, no_leaks: None
) -> None:
    # Both wait behind the hang, all their threads stuck, but the session needs them after it.
    pytester.makepyfile(test_services=SERVICES)
    result = run(pytester, "--joinstall", "-p", "no:randomly")
    result.assert_outcomes(failed=2, passed=1)
    assert "resource tracker" in result.stdout.str()  # it was in the graph, stuck behind


OWN_ALARM = """
import multiprocessing as mp, signal

def child(q):
    for _ in range(3):
        q.put(b"x" * 300_000)

def test_an_alarm_handler_drains_while_the_test_joins():
    q = mp.Queue(); got = []
    def drain(signum, frame):
        while len(got) < 3:
            got.append(q.get())
    previous = signal.signal(signal.SIGALRM, drain)
    try:
        p = mp.Process(target=child, args=(q,)); p.start()
        signal.alarm(1)
        p.join()  # the pipe is full and the child blocked, until the alarm's handler reads
        assert len(got) == 3
    finally:
        signal.signal(signal.SIGALRM, previous)
"""


@pytest.mark.timeout(120)
def test_a_tests_own_alarm_is_no_hang(pytester: pytest.Pytester, no_leaks: None) -> None:
    # Only pytest-timeout's alarm is the plugin's to discount; a test's own handler may read.
    # (With pytest-timeout's signal method on, a test that takes SIGALRM over breaks
    # pytest-timeout too, and the plugin still takes SIGALRM for pytest-timeout's.)
    pytester.makepyfile(test_own_alarm=OWN_ALARM)
    result = run(pytester, "--joinstall")
    result.assert_outcomes(passed=1)


MARKED = """
import multiprocessing as mp, threading
import pytest

def child(q):
    q.put(b"x" * (1 << 20))

@pytest.mark.joinstall(stacks=False)
def test_marked_stall():
    q = mp.Queue(); p = mp.Process(target=child, args=(q,)); p.start(); p.join()

def test_unmarked_is_not_watched():
    # A stall that its join timeout ends: watched, it would be proven and fail.
    q = mp.Queue(); p = mp.Process(target=child, args=(q,)); p.start(); p.join(1.5)
    assert len(q.get()) == 1 << 20 and threading.active_count() == 1
    p.join()
"""


@pytest.mark.timeout(120)
def test_a_marker_turns_it_on_for_one_test(pytester: pytest.Pytester, no_leaks: None) -> None:
    pytester.makepyfile(test_marked=MARKED)
    result = run(pytester, "-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    assert "STALLED: " in result.stdout.str()
    assert "py-spy stacks of process" not in result.stdout.str()


@pytest.mark.timeout(60)
def test_off_unless_enabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_off="import psutil\ndef test_no_monitor():\n    assert psutil.Process().children() == []\n"
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "joinstall:" not in result.stdout.str()


ONE_THREAD = """
import os, psutil, pytest

@pytest.fixture
def threads():
    return len(os.listdir("/proc/self/task"))

def test_setup_sees_one_thread(threads):
    assert threads == 1

@pytest.mark.parametrize("n", range(3))
def test_one_thread_and_the_monitor_is_a_process(n):
    assert len(os.listdir("/proc/self/task")) == 1
    kids = psutil.Process().children()
    assert [" ".join(k.cmdline()) for k in kids if "monitor" in " ".join(k.cmdline())], kids
"""


@pytest.mark.timeout(60)
def test_a_watched_test_sees_one_thread_in_its_process(pytester: pytest.Pytester, no_leaks: None) -> None:
    # On CPython 3.12+ os.fork() in a multi-threaded process warns (DeprecationWarning), and with
    # filterwarnings = error every test that forks a multiprocessing child would fail. The
    # warning does not exist before 3.12, so one thread in the pytest process is what is checked.
    pytester.makepyfile(test_threads=ONE_THREAD)
    result = run(pytester, "--joinstall")
    result.assert_outcomes(passed=4)


FORKS = """
import multiprocessing as mp, os

def test_fork():
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7

def test_a_fork_child():
    p = mp.get_context("fork").Process(target=sum, args=([1, 2],)); p.start(); p.join()
    assert p.exitcode == 0 and len(os.listdir("/proc/self/task")) == 1
"""


@pytest.mark.timeout(60)
def test_forking_tests_pass_under_filterwarnings_error(pytester: pytest.Pytester, no_leaks: None) -> None:
    # The faithful check needs CPython 3.12+ (its fork warning); on older Pythons this passes
    # with or without the fix, and the one-thread test above is the proxy.
    pytester.makeini("[pytest]\nfilterwarnings = error\njoinstall = true\n")
    pytester.makepyfile(test_forks=FORKS)
    result = run(pytester, "-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=2)
    assert "is multi-threaded" not in result.stdout.str() + result.stderr.str()


@pytest.mark.timeout(60)
def test_the_monitor_ends_with_pytest_and_is_no_leak(pytester: pytest.Pytester, no_leaks: None) -> None:
    # A conftest that fails the session on leaked children, as many suites (and ours) do.
    pytester.makeconftest(
        "import psutil\n"
        "def pytest_sessionfinish(session):\n"
        "    left = [' '.join(p.cmdline()) for p in psutil.Process().children()]\n"
        "    assert not left, left\n"
    )
    pytester.makepyfile(test_x="import time\ndef test_x():\n    time.sleep(0.2)\n")
    result = run(pytester, "--joinstall")
    result.assert_outcomes(passed=1)
    assert result.ret == 0, result.stderr.str()


DEADLOCK = """
import threading

def test_two_threads_deadlock():
    a, b = threading.Lock(), threading.Lock()
    ready = threading.Barrier(2)
    def one(first, second):
        with first:
            ready.wait()
            with second:
                pass
    t1 = threading.Thread(target=one, args=(a, b)); t2 = threading.Thread(target=one, args=(b, a))
    t1.start(); t2.start()
    t1.join()

def test_next():
    pass
"""


@pytest.mark.timeout(120)
def test_threads_that_stay_stuck_do_not_keep_pytest_alive(pytester: pytest.Pytester, no_leaks: None) -> None:
    pytester.makepyfile(test_deadlock=DEADLOCK)
    result = run(pytester, "--joinstall")
    result.assert_outcomes(failed=1, passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["DEADLOCKED: *", "Still stuck in this process: thread(s) *"])
    assert "would block interpreter exit; exiting now" in result.stderr.str()


@pytest.mark.parametrize(
    ("args", "ini", "where"),
    [
        (["--joinstall-interval", "abc"], "", "'abc' from --joinstall-interval"),
        (["--joinstall"], "joinstall_interval = 0", "'0' from joinstall_interval in the ini file (tox.ini)"),
        ([], "joinstall = maybe", "'maybe' from joinstall in the ini file (tox.ini)"),
        ([], "joinstall_stacks = 2", "'2' from joinstall_stacks in the ini file (tox.ini)"),
        (
            [],
            "joinstall_save = tox.ini",
            "'tox.ini' from joinstall_save in the ini file (tox.ini): it is a file",
        ),
    ],
)
@pytest.mark.timeout(60)
def test_a_bad_value_names_where_it_came_from(
    pytester: pytest.Pytester, args: list[str], ini: str, where: str
) -> None:
    pytester.makefile(".ini", tox=f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert where in result.stderr.str(), result.stderr.str()


@pytest.mark.timeout(60)
def test_a_bad_marker_names_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_m="import pytest\n@pytest.mark.joinstall(interval='soon')\ndef test_m():\n    pass\n"
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*Invalid joinstall interval 'soon' from the joinstall marker of test_m.py::test_m*"]
    )


@pytest.mark.timeout(60)
def test_the_header_says_how_it_samples(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--joinstall", "--joinstall-interval", "0.1", "--joinstall-no-stacks"
    )
    result.stdout.fnmatch_lines(["joinstall: every test's process tree sampled every 100 ms, without stacks"])
