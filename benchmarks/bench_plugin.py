"""The pytest plugin: time from a test's block to its failure, and its cost on a passing suite.

1. A test stalls (join before get, 1 MiB). It writes the wall-clock time just before it blocks;
   a conftest hook writes the time its failure is reported. Measured with ``--joinstall`` and
   with pytest-timeout at 60 s alone. Goal: at most 1 s, at least 60x faster.
2. A passing suite of quick tests, run with and without ``--joinstall``, alternately. Goal:
   the plugin adds at most 3 % (the session's wall time, and pytest's own test-loop time).
3. What one passing test costs the pytest process (arm, three report checks, disarm, against a
   real monitor process), and the CPU time the monitor process spends on all of them.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STALL = """
import multiprocessing as mp, time

def child(q):
    q.put(b"x" * (1 << 20))

def test_stall():
    q = mp.Queue()
    p = mp.Process(target=child, args=(q,), daemon=True)  # daemonic: pytest can exit after a timeout
    p.start()
    time.sleep(0.2)  # the child is blocked by now
    with open("blocked.txt", "w") as f:
        f.write(repr(time.time()))
    p.join()
"""
CONFTEST = """
import time
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        with open("failed.txt", "w") as f:
            f.write(repr(time.time()))
    return report
"""
QUICK_TESTS = 300
QUICK = "\n".join(f"def test_{i}():\n    assert sum(range(2000)) == 1999000\n" for i in range(QUICK_TESTS))
REPEATS = 7
TIMEOUT = 60


def pytest(cwd: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT * 3,
    )  # fmt: skip
    return time.perf_counter() - start, done.stdout


def block_to_failure(cwd: Path, *args: str) -> float:
    pytest(cwd, *args)
    return float((cwd / "failed.txt").read_text()) - float((cwd / "blocked.txt").read_text())


def loop_seconds(out: str) -> float:
    """pytest's own "N passed in S s": the test loop, without interpreter start-up."""
    found = re.search(r"passed in ([0-9.]+)s", out)
    return float(found.group(1)) if found else float("nan")


def per_test(n: int = 3000) -> tuple[float, float]:
    """Microseconds per test in the pytest process; the monitor's CPU seconds for ``n`` tests."""
    from joinstall.plugin.client import Client
    from joinstall.plugin.settings import Settings

    client, s = Client(), Settings(True, 0.05, True)
    client.disarm(client.arm(s))  # starts the monitor
    assert client.proc is not None
    start = time.perf_counter()
    for _ in range(n):
        record = client.arm(s)
        for _phase in ("setup", "call", "teardown"):
            client.check(record)
        client.disarm(record)
    seconds = time.perf_counter() - start
    # EOF: the monitor handles every line left and exits; its rusage is then all it spent
    # (no guessed sleep, and microseconds rather than /proc's 10 ms clock ticks).
    proc = client.proc
    os.close(client.ctrl)
    client.ctrl = -1
    usage = os.wait4(proc.pid, 0)[2]
    proc.returncode = 0  # reaped above
    client.close()
    return seconds / n * 1e6, usage.ru_utime + usage.ru_stime


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stall = Path(tmp, "stall")
        stall.mkdir()
        (stall / "test_stall.py").write_text(STALL)
        (stall / "conftest.py").write_text(CONFTEST)
        plugin = block_to_failure(stall, "--joinstall")
        print(f"  running the pytest-timeout baseline ({TIMEOUT} s)...", flush=True)
        baseline = block_to_failure(stall, "--timeout", str(TIMEOUT))
        print("time from a test's block to its failure (1 MiB join-before-get stall):")
        print(f"  joinstall plugin            {plugin * 1000:9.0f} ms   (goal <= 1000 ms)")
        print(f"  pytest-timeout at {TIMEOUT} s     {baseline * 1000:9.0f} ms")
        print(f"  the plugin is {baseline / plugin:.0f}x faster (goal >= 60x)")

        quick = Path(tmp, "quick")
        quick.mkdir()
        (quick / "test_quick.py").write_text(QUICK)
        pytest(quick)  # warm the page cache and the bytecode
        walls: dict[str, list[float]] = {"off": [], "on": []}
        loops: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(REPEATS):
            for name, args in (("off", ()), ("on", ("--joinstall",))):
                wall, out = pytest(quick, *args)
                walls[name].append(wall)
                loops[name].append(loop_seconds(out))
        print(f"a passing suite of {QUICK_TESTS} quick tests, median of {REPEATS}:")
        for what, data in (("session wall time", walls), ("pytest's test loop", loops)):
            off, on = statistics.median(data["off"]), statistics.median(data["on"])
            print(
                f"  {what:<19} off {off * 1000:7.0f} ms   --joinstall {on * 1000:7.0f} ms"
                f"   overhead {100 * (on / off - 1):+5.1f} % (goal <= 3 %)"
            )
    micros, cpu = per_test()
    print(f"one passing test in the pytest process: {micros:.1f} us (arm, 3 report checks, disarm)")
    print(f"  the monitor process, start-up and 3000 tests: {cpu * 1000:.0f} ms of CPU")
