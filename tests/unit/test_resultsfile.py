"""Results files: whole lines or nothing, torn tails repaired, foreign files refused."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import stat
from pathlib import Path

import pytest
from joinstall import resultsfile
from joinstall.errors import ResultsError

# A new file's metadata asks the interpreter its version: a subprocess, so a bound.
pytestmark = pytest.mark.timeout(60)


def test_records_round_trip_and_resume_skips_keys(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with resultsfile.Writer(path, {"grid": [1, 2]}, resume=False) as w:
        w.append({"kind": "run", "key": "a", "x": 1})
    with resultsfile.Writer(path, {"grid": [1, 2]}) as w:
        assert w.done("a") and not w.done("b")
    meta, recs, torn = resultsfile.read(path)
    assert meta["config"] == {"grid": [1, 2]} and recs == [{"kind": "run", "key": "a", "x": 1}] and not torn


def test_a_torn_tail_is_cut_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with resultsfile.Writer(path, {}, resume=False) as w:
        w.append({"kind": "run", "key": "a"})
    with path.open("ab") as f:
        f.write(b'{"kind": "run", "ke')
    with resultsfile.Writer(path, {}) as w:
        assert w.repaired
    assert path.read_bytes().endswith(b'"key": "a", "kind": "run"}\n')


def test_another_configuration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    resultsfile.Writer(path, {"a": 1}, resume=False).close()
    with pytest.raises(ResultsError, match="different configuration"):
        resultsfile.Writer(path, {"a": 2})


@pytest.mark.parametrize("content", [b"", b"[1, 2]\n", b"a,b\n1,2\n", b'{"kind": "run"}\n'])
def test_foreign_or_empty_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(content)
    with pytest.raises(ResultsError):
        resultsfile.read(path)


def test_a_line_that_is_not_an_object_is_refused_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with resultsfile.Writer(path, {"a": 1}) as w:
        w.append({"kind": "run", "key": "k1"})
    with path.open("a") as f:
        f.write('"key"\n')
    for read in (resultsfile.read, lambda p: resultsfile.Writer(p, {"a": 1})):
        with pytest.raises(ResultsError, match=r"r\.jsonl:3 is not a JSON object"):
            read(path)


def test_unwritable_targets_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for target in (tmp_path, blocker / "r.jsonl"):
        with pytest.raises(ResultsError):
            resultsfile.Writer(target, {}, resume=False)
    assert blocker.read_text() == "x"


def test_a_failed_append_leaves_no_partial_line(tmp_path: Path) -> None:
    """A real short write: RLIMIT_FSIZE lets half the line in, then the kernel says EFBIG."""
    path = tmp_path / "r.jsonl"
    with resultsfile.Writer(path, {}, resume=False) as w:
        w.append({"kind": "run", "key": "a"})
        size = path.stat().st_size
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, hard))
        try:
            with pytest.raises(ResultsError, match="cannot append"):
                w.append({"kind": "run", "key": "b", "pad": "x" * 100})
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            signal.signal(signal.SIGXFSZ, old)
    assert path.stat().st_size == size
    assert [json.loads(x)["key"] for x in path.read_text().splitlines()[1:]] == ["a"]


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "fresh"])
def test_a_fifo_or_a_socket_is_never_replaced(tmp_path: Path, resume: bool) -> None:
    # Not a real device: a regression would replace it, and the tests may run as root.
    fifo, sock_path = tmp_path / "fifo", tmp_path / "sock"
    os.mkfifo(fifo)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        for target in (fifo, sock_path):
            with pytest.raises(ResultsError, match="not a results file"):
                resultsfile.Writer(target, {}, resume=resume)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert stat.S_ISSOCK(sock_path.stat().st_mode)


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "fresh"])
def test_a_file_joinstall_did_not_write_is_not_overwritten(tmp_path: Path, resume: bool) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    with pytest.raises(ResultsError, match="not a joinstall results file"):
        resultsfile.Writer(path, {}, resume=resume)
    assert path.read_text() == "my notes\n"


def test_fresh_replaces_a_joinstall_file(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with resultsfile.Writer(path, {"a": 1}, resume=False) as w:
        w.append({"kind": "run", "key": "a"})
    resultsfile.Writer(path, {"a": 2}, resume=False).close()
    assert resultsfile.read(path)[1] == []


def test_a_failed_create_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (10, hard))
    try:
        with pytest.raises(ResultsError, match="cannot write"):
            resultsfile.Writer(path, {}, resume=False)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)
    assert list(tmp_path.iterdir()) == []
