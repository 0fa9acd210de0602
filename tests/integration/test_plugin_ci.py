"""The plugin as a CI guard: from a timeout nothing proved to an artifact a maintainer can read.

Each pytest session below runs once per module (in a subprocess, with short timeouts), and
several tests read what it printed, the JUnit XML it wrote and the diagnoses it saved. After each
session no process it started may be alive: the plugin must have killed every process each
timed-out test started, a daemon that left the tree included.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from joinstall import reaper
from joinstall.engine import saved
from joinstall.plugin import cleanup

from tests.integration.test_plugin import descendants

pytestmark = pytest.mark.integration

#: A daemon: the intermediate lives long enough to be sampled, then dies, and its child (in a
#: session of its own) is re-parented out of pytest's tree.
DAEMON = (
    "import os, sys, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    with open(sys.argv[1], 'w') as f:\n"
    "        f.write(str(os.getpid()))\n"
    "    time.sleep(60)\n"
    "time.sleep(0.3)\n"
)
SLEEPER = "import time; time.sleep(60)"

TIMEOUTS = f"""
import multiprocessing as mp, os, socket, subprocess, sys, time
import pytest

OUT = os.environ["JOINSTALL_TEST_OUT"]
PORT = int(os.environ["JOINSTALL_TEST_PORT"])

def note(name, text):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(text)

def reader():
    socket.create_connection(("127.0.0.1", PORT)).recv(1)

def test_waits_on_a_server_outside():
    note("worker-a", os.environ.get("PYTEST_XDIST_WORKER", ""))
    subprocess.Popen([sys.executable, "-c", {DAEMON!r}, os.path.join(OUT, "daemon")])
    p = mp.Process(target=reader); p.start()
    note("reader", str(p.pid))
    p.join()

@pytest.mark.timeout(5)
def test_own_timeout():
    p = subprocess.Popen([sys.executable, "-c", {SLEEPER!r}])
    note("own", str(p.pid))
    p.wait(timeout=1.5)  # after some samples of the monitor's, even on a busy machine

def child(q):
    q.put(b"x" * (1 << 20))

def test_stall():
    q = mp.Queue(); p = mp.Process(target=child, args=(q,)); p.start(); p.join()

@pytest.mark.timeout(20)
def test_keeps_its_own_child():
    # On the other worker, while the first test times out: this child is no part of that test.
    note("worker-b", os.environ.get("PYTEST_XDIST_WORKER", ""))
    p = subprocess.Popen([sys.executable, "-c", {SLEEPER!r}])
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(OUT, "reader")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)  # past the other test's timeout, its stacks and its cleanup
        assert p.poll() is None
    finally:
        p.kill(); p.wait()

def test_passes():
    pass
"""


@dataclass
class Ran:
    ret: int
    out: str
    err: str
    seconds: float
    left: list[str]

    def section(self, title: str) -> str:
        """The text of the report section titled ``title`` (up to the next section)."""
        found = re.search(rf"-+ {re.escape(title)} -+\n(.*?)(?=\n[-=_]{{5,}}|\Z)", self.out, re.S)
        assert found is not None, self.out
        return found.group(1)


@contextlib.contextmanager
def left_behind() -> Iterator[list[str]]:
    """The command lines of processes started inside the block and still alive after it (killed)."""
    before, left = descendants(), []
    try:
        yield left
    finally:
        deadline = time.monotonic() + 5
        while (alive := descendants() - before) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in sorted(alive):
            with contextlib.suppress(psutil.Error):
                left.append(" ".join(psutil.Process(pid).cmdline()))
        reaper.kill_and_clean(sorted(alive))


def pytest_session(folder: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    """Run pytest in ``folder`` to its end (bounded) and see what it left behind."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    environ.update(env or {})
    start = time.monotonic()
    with left_behind() as left:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=folder, env=environ, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - start, left)


# -- pytest-timeout's signal method, under xdist, with --junitxml and --joinstall-save ---------


@dataclass
class Shared:
    ran: Ran
    folder: Path
    port: int
    xml: ET.Element

    def read(self, name: str) -> str:
        return (self.folder / "out" / name).read_text()

    def case(self, name: str) -> ET.Element:
        found = [c for c in self.xml.iter("testcase") if c.get("name") == name]
        assert len(found) == 1, ET.tostring(self.xml)
        return found[0]


@pytest.fixture(scope="module")
def timeouts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    folder = tmp_path_factory.mktemp("ci")
    (folder / "test_ci.py").write_text(TIMEOUTS)
    (folder / "out").mkdir()
    # A server outside the tree under test: the test's child waits on it, and it never answers.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        env = {"JOINSTALL_TEST_OUT": str(folder / "out"), "JOINSTALL_TEST_PORT": str(port)}
        args = [
            "--joinstall",
            "--timeout",
            "1",
            "-n",
            "2",
            "--junitxml",
            "out.xml",
            "--joinstall-save",
            "saved",
        ]
        ran = pytest_session(folder, *args, env=env)
    yield Shared(ran, folder, port, ET.parse(folder / "out.xml").getroot())


@pytest.mark.timeout(120)
def test_a_timeout_says_not_proven_and_what_each_thread_waits_on(timeouts: Shared) -> None:
    ran = timeouts.ran
    assert ran.left == [], ran.left
    assert "Not a hang" not in ran.out and "live, not hung" not in ran.out
    text = ran.section("joinstall: not proven when pytest-timeout fired")
    assert text.startswith("Not proven: "), text
    reader = timeouts.read("reader")
    # Every thread of every process of the test, by process; the one that waits on the world
    # outside the tree says so, with the address.
    assert re.search(r"^  parent \d+ \(pytest\):\n    main thread: .*wait4", text, re.M), text
    assert f":{timeouts.port}" in process(text, f"child {reader}"), text
    assert "What could still end the wait: " in text
    # py-spy's stacks of pytest (the test's own frames only) and of its child.
    assert "test_waits_on_a_server_outside (test_ci.py:" in text
    assert f"py-spy stacks of process {reader}:\n" in text and "reader (test_ci.py:" in text
    assert "_pytest/" not in text and "plugin/client.py" not in text


@pytest.mark.timeout(120)
def test_a_timeout_kills_every_process_the_test_started(timeouts: Shared) -> None:
    text = timeouts.ran.section("joinstall: not proven when pytest-timeout fired")
    killed = re.search(r"Killed \(SIGKILL\) the processes the test started: (.*)\.", text.replace("\n", " "))
    assert killed is not None, text
    pids = {int(p) for p in re.findall(r"(\d+) \(", killed.group(1))}
    daemon = int(timeouts.read("daemon"))
    # The daemon left pytest's tree (its parent died) and its session: remembered all the same.
    assert {int(timeouts.read("reader")), daemon} <= pids, text
    assert not psutil.pid_exists(daemon) or psutil.Process(daemon).status() == psutil.STATUS_ZOMBIE
    # The other worker's test kept its child: each xdist worker minds its own tests' processes.
    assert timeouts.read("worker-a") != timeouts.read("worker-b")
    assert "test_keeps_its_own_child" not in " ".join(re.findall(r"FAILED (\S+)", timeouts.ran.out))


@pytest.mark.timeout(120)
def test_a_tests_own_timeout_is_reported_too(timeouts: Shared) -> None:
    text = timeouts.ran.section(
        "joinstall: not proven when the test's own timeout expired (subprocess.TimeoutExpired)"
    )
    assert f"Killed (SIGKILL) the processes the test started: {timeouts.read('own')} (python" in text, text


@pytest.mark.timeout(120)
def test_a_proof_still_comes_before_the_timeout(timeouts: Shared) -> None:
    ran = timeouts.ran
    assert re.search(r"FAILED test_ci.py::test_stall - joinstall", ran.out), ran.out
    assert "hang proven in call" in ran.out
    assert "3 failed, 2 passed" in ran.out, ran.out


@pytest.mark.timeout(120)
def test_the_junit_xml_carries_the_verdict_the_cycle_and_the_fix(timeouts: Shared) -> None:
    stall = timeouts.case("test_stall").find("failure")
    assert stall is not None
    # What dashboards show: the failure's message, then its text.
    assert "HangProven: joinstall: stalled: " in stall.get("message", "")
    assert "The wait-for cycle:" in (stall.text or "") and "Fix: drain the queue" in (stall.text or "")
    props = {p.get("name"): p.get("value") for p in timeouts.case("test_stall").iter("property")}
    assert props["joinstall_verdict"] == "stalled" and props["joinstall_fix"].startswith("drain the queue")
    assert "blocked writing" in props["joinstall_cycle"]
    timed_out = timeouts.case("test_waits_on_a_server_outside").find("failure")
    assert timed_out is not None
    message = timed_out.get("message", "")
    assert "Timeout (>1.0s) from pytest-timeout" in message and "[joinstall: not proven: " in message
    assert "joinstall: not proven when pytest-timeout fired" in (timed_out.text or "")
    props = {
        p.get("name"): p.get("value")
        for p in timeouts.case("test_waits_on_a_server_outside").iter("property")
    }
    assert props["joinstall_verdict"] == "not proven" and props["joinstall_killed"]


@pytest.mark.timeout(120)
def test_each_hanging_or_timed_out_test_is_saved_for_explain(timeouts: Shared) -> None:
    files = sorted((timeouts.folder / "saved").iterdir())
    assert [f.name.split("-")[0] for f in files] == ["test_ci.py"] * 3, timeouts.ran.out
    by_test = {f.name.split("--")[1].rsplit("-", 1)[0]: f for f in files}
    assert set(by_test) == {"test_own_timeout", "test_stall", "test_waits_on_a_server_outside"}
    stall = saved.read(by_test["test_stall"])
    assert stall.verdict.value == "stalled" and stall.evidence is not None
    # The monitor watches from inside pytest's tree; it is no part of the test, nor of its file.
    commands = [" ".join(p.cmdline) for p in stall.evidence.after.procs]
    assert commands and not any("monitor.py" in c for c in commands), commands
    assert stall.evidence.describe().verdict.value == "stalled"
    assert not saved.read(by_test["test_waits_on_a_server_outside"]).proven
    for f in files:
        assert f"Saved the diagnosis to {f}; read it on any machine with" in timeouts.ran.out.replace(
            "\n", " "
        )
    props = {p.get("name"): p.get("value") for p in timeouts.case("test_stall").iter("property")}
    assert props["joinstall_saved"] == str(by_test["test_stall"])


# -- pytest-timeout's thread method: pytest ends with os._exit ----------------------------------

THREAD_METHOD = f"""
import subprocess, sys

def test_thread_method():
    p = subprocess.Popen([sys.executable, "-c", {SLEEPER!r}])
    p.wait()
"""


@pytest.mark.timeout(120)
def test_the_thread_method_reports_and_kills_before_pytest_exits(tmp_path: Path) -> None:
    (tmp_path / "test_thread.py").write_text(THREAD_METHOD)
    ran = pytest_session(tmp_path, "--joinstall", "--timeout", "1", "--timeout-method", "thread")
    assert ran.ret == 1 and ran.left == [], (ran.out, ran.left)
    pytest.LineMatcher(ran.out.splitlines()).fnmatch_lines(
        [
            "*+ joinstall: not proven when pytest-timeout fired +*",
            "Not proven: *",
            "  parent * (pytest):",
            "py-spy stacks of process *",
            "*test_thread_method (test_thread.py:6)",
            "*+ Timeout +*",
            # pytest-timeout's own stacks still show the test blocked: the kill comes after them.
            '*test_thread.py", line 6, in test_thread_method',
            "joinstall: Killed (SIGKILL) the processes the test started: * (python*",
        ]
    )


# -- SIGKILL right after a proof: nothing is left -----------------------------------------------

KILLED_AFTER_PROOF = """
import multiprocessing as mp

def child(q):
    q.put(b"x" * (1 << 20))

def test_stall():
    ctx = mp.get_context("spawn")  # named semaphores in /dev/shm, and a resource tracker
    q = ctx.Queue(); p = ctx.Process(target=child, args=(q,)); p.start(); p.join()
"""
KILL_AT_FAILURE = """
import os, signal

def pytest_runtest_logreport(report):
    if report.when == "call" and report.failed:
        os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.timeout(120)
def test_pytest_killed_right_after_a_proof_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_killed.py").write_text(KILLED_AFTER_PROOF)
    (tmp_path / "conftest.py").write_text(KILL_AT_FAILURE)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    semaphores = reaper.semaphore_files()
    ran = pytest_session(tmp_path, "--joinstall", env={"TMPDIR": str(tmp)})
    assert ran.ret == -9, (ran.out, ran.err)
    assert ran.left == []
    # No file: the proof went to pytest through an anonymous file of the monitor's.
    assert [p.name for p in tmp.iterdir() if "joinstall" in p.name] == []
    deadline = time.monotonic() + 3  # the resource tracker unlinks what it was told of
    while (new := reaper.semaphore_files() - semaphores) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert new == set()


# -- the monitor's memory of a test's processes -------------------------------------------------


@pytest.mark.timeout(60)
def test_a_re_parented_grandchild_is_remembered_and_killed(tmp_path: Path) -> None:
    older = subprocess.Popen([sys.executable, "-c", SLEEPER])
    pidfile = tmp_path / "daemon"
    daemon = 0
    try:
        time.sleep(0.05)  # some ticks later: "older" started before the test
        since = time.monotonic()
        middle = subprocess.Popen([sys.executable, "-c", DAEMON, str(pidfile)])
        mine, theirs = cleanup.Descendants(os.getpid(), since), cleanup.Descendants(middle.pid, since)
        deadline = time.monotonic() + 10
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline
            theirs.update()
            time.sleep(0.02)
        daemon = int(pidfile.read_text())
        theirs.update()
        mine.update()
        assert middle.pid in mine.alive() and older.pid not in mine.alive()
        middle.wait()  # it exits; the daemon, in a session of its own, leaves middle's tree
        assert cleanup.children(middle.pid) == [] and theirs.alive() == [daemon]
        killed = cleanup.kill(theirs)
        assert killed == [f"{daemon} (python)"] or killed[0].startswith(f"{daemon} ("), killed
        assert older.poll() is None
    finally:
        older.kill()
        older.wait()
        if daemon:
            with contextlib.suppress(ProcessLookupError):
                os.kill(daemon, 9)
            with contextlib.suppress(ChildProcessError):  # re-parented to us: the suite is a subreaper
                os.waitpid(daemon, 0)


def process(text: str, name: str) -> str:
    """The lines of one process in a timeout's section: ``  child 12:`` and its threads."""
    found = re.search(rf"^  {re.escape(name)}:\n((?:    .*\n?)+)", text, re.M)
    assert found is not None, text
    return found.group(1)
