"""Processes that leave a watched tree: their exit status, the OOM counter, and the cause's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from joinstall.engine import causes, departures
from joinstall.engine.snapshot import Process, Snapshot, Thread


def _proc(pid: int, ppid: int, state: str = "S") -> Process:
    return Process(pid, ppid, "python", ("python",), (Thread(pid, "python", state, 7, (), "", 1, 1),), ())


def _stat(folder: Path, pid: int, state: str, status: int) -> None:
    fields = [state, *["0"] * 48, str(status)]
    (folder / str(pid)).mkdir(parents=True)
    (folder / str(pid) / "stat").write_text(f"{pid} (python) {' '.join(fields)}\n")


def test_a_zombies_status_reads_as_signal_or_exit_code(tmp_path: Path) -> None:
    _stat(tmp_path, 10, "Z", 9)  # killed by SIGKILL
    _stat(tmp_path, 11, "Z", 3 << 8)  # exit(3)
    _stat(tmp_path, 12, "S", 0)  # alive: no status yet
    assert departures.exit_status(10, str(tmp_path)) == -9
    assert departures.exit_status(11, str(tmp_path)) == 3
    assert departures.exit_status(12, str(tmp_path)) is None
    assert departures.exit_status(13, str(tmp_path)) is None


def test_the_oom_counter_is_read_where_the_kernel_shows_it(tmp_path: Path) -> None:
    (tmp_path / "vmstat").write_text("nr_free_pages 10\noom_kill 4\n")
    assert departures.oom_kills(str(tmp_path)) == 4
    assert departures.oom_kills(str(tmp_path / "nowhere")) is None


def test_a_process_missing_from_the_next_sample_departs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(departures.ExitEvents, "open", classmethod(lambda cls: None))
    monkeypatch.setattr(departures, "oom_kills", lambda proc=None: 7)
    seen = departures.Departures()
    seen.observe(Snapshot(0.0, (_proc(1, 0), _proc(2, 1), _proc(3, 1)), ()))
    seen.observe(Snapshot(0.1, (_proc(1, 0), _proc(3, 1)), ()))
    seen.observe(Snapshot(0.2, (_proc(1, 0), _proc(3, 1)), ()))
    assert [(d.pid, d.ppid, d.status, d.oom) for d in seen.gone] == [(2, 1, None, False)]


def test_the_words_say_what_was_seen_and_what_was_not() -> None:
    killed = causes.Departure(5, 1, -9, 0.5, oom=True)
    assert killed.words() == "killed by SIGKILL; the kernel's OOM kill counter rose meanwhile"
    unseen = causes.Departure(5, 1, None, 0.5, oom=None)
    assert unseen.words() == "its exit status was reaped before it could be seen"
    assert causes.Departure(5, 1, 2, 0.5, oom=False).words() == "exit code 2; no OOM kill was counted"
