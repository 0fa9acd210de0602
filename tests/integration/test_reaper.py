"""The reaper leaves nothing behind: no process, and no named semaphore in /dev/shm."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from joinstall import reaper

from tests.conftest import SEED

pytestmark = pytest.mark.integration


def _mapped_semaphores(pid: int) -> set[Path]:
    """The test's own reading: the sem.mp-* files whose inodes the process maps."""
    inodes = {
        int(line.split()[4])
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
        if "/dev/shm/sem." in line
    }
    return {p for p in Path("/dev/shm").glob("sem.mp-*") if p.stat().st_ino in inodes}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_stalled_run_killed_with_its_resource_tracker_leaves_no_semaphore(method: str) -> None:
    argv = [sys.executable, "-u", str(SEED), "--size", "1048576", "--timeout", "30"]
    with reaper.session([*argv, "--start-method", method], stdout=-1, stderr=-1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(b"PARENT: Now joining"):
                break
        time.sleep(0.2)
        # The queue's two locks and its bounded semaphore, named because of spawn/forkserver.
        sems = _mapped_semaphores(proc.pid)
        assert len(sems) >= 3 and all(p.exists() for p in sems), sems
    left = [p for p in sems if p.exists()]
    assert left == [], f"left in /dev/shm: {left}"


#: Creates named semaphores as fast as it can (each one also registered with a resource
#: tracker, which the kill takes too): a kill lands inside sem_open sooner or later.
CREATOR = """
import multiprocessing as mp
ctx = mp.get_context("spawn")
locks = [ctx.Lock()]
print("READY", flush=True)
while len(locks) < 20000:
    locks.append(ctx.Lock())
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["session", "kill_and_clean"])
def test_a_tree_killed_while_it_creates_semaphores_leaves_none(how: str) -> None:
    before = reaper.semaphore_files()
    for _ in range(5):
        argv = [sys.executable, "-c", CREATOR]
        with reaper.session(argv, stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None and proc.stdout.readline() == b"READY\n"
            time.sleep(0.05)  # not a measurement: let it be creating when the kill comes
            if how == "kill_and_clean":
                reaper.kill_and_clean(reaper.members(proc.pid))
        left = reaper.semaphore_files() - before
        for path in left:  # the next tests must not inherit them
            Path(path).unlink()
        assert not left, f"{len(left)} left, e.g. {sorted(left)[0]}"


def test_semaphores_are_found_by_the_inodes_the_group_maps(tmp_path: Path) -> None:
    proc, shm = tmp_path / "proc", tmp_path / "shm"
    (proc / "41").mkdir(parents=True)
    (proc / "42").mkdir()
    shm.mkdir()
    ours, theirs, other = (shm / n for n in ("sem.mp-abc", "sem.mp-xyz", "sem.other"))
    for path in (ours, theirs, other):
        path.write_bytes(b"\0" * 32)
    # Stopped inside sem_open: glibc's temporary file, created and still open, not yet mapped.
    half_made = shm / "sem.Ab12Cd"
    half_made.touch()
    (proc / "41" / "fd").mkdir()
    (proc / "41" / "fd" / "3").symlink_to(half_made)
    (proc / "41" / "fd" / "4").symlink_to(tmp_path)
    (proc / "41" / "stat").write_text("41 (a (b) c) S 1 7 7 0 -1")
    (proc / "41" / "maps").write_text(
        f"7f00-7f01 rw-s 00000000 00:1a {ours.stat().st_ino} {shm}/sem.Tmp1 (deleted)\n"
        f"7f02-7f03 rw-s 00000000 00:1a {other.stat().st_ino} {shm}/sem.other\n"
        "7f03-7f04 r--p 00000000 00:00 0\n"
    )
    (proc / "42" / "stat").write_text("42 (x) S 1 8 8 0 -1")
    assert reaper.members(7, proc) == [41]
    assert reaper.semaphores_of([41, 43], proc, shm) == {str(ours), str(half_made)}


@pytest.mark.timeout(60)
def test_a_signal_during_the_clean_up_waits_until_the_session_is_reaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Fresh signal state, so that this simulated Ctrl-C does not stop the rest of the session.
    monkeypatch.setattr(reaper, "_signals", [])
    monkeypatch.setattr(reaper, "_stopping", threading.Event())
    real_reap = reaper.reap_group

    def signalled_then_reap(pgid: int) -> None:
        reaper._on_signal(signal.SIGINT, None)  # as the handler runs: between two bytecodes
        real_reap(pgid)

    monkeypatch.setattr(reaper, "reap_group", signalled_then_reap)
    with pytest.raises(KeyboardInterrupt), reaper.session(["sleep", "30"]) as proc:
        pid = proc.pid
    assert pid not in reaper._live
    # The watchdog was told "done" and reaped: it is no longer among our children.
    assert [c.pid for c in psutil.Process().children(recursive=True) if _is_watchdog(c)] == []


def _is_watchdog(p: psutil.Process) -> bool:
    try:
        return reaper._WATCHDOG in p.cmdline()
    except psutil.Error:  # gone, or a zombie another test left to this subreaper
        return False
