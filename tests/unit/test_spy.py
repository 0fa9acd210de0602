"""The py-spy parser and thread classifier, on real dumps recorded from CPython 3.8 to 3.13.

The recordings (``tests/fixtures/spy/``, made by ``record.py`` there) hold py-spy's JSON for
every Python process of a hung tree, with the parent and child PIDs as the program itself
printed them. The expected labels below come from those PIDs and thread names, not from the
classifier, so a classifier that mislabels any interpreter's frames fails here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from joinstall.engine import api, snapshot
from joinstall.errors import UsageError
from joinstall.spy import labels, pyspy, stacks
from joinstall.spy.labels import Label
from joinstall.spy.stacks import Frame

FIXTURES = Path(__file__).parent.parent / "fixtures" / "spy"
RECORDINGS = sorted(FIXTURES.glob("py3*.json"))
# Paths that are the same on every POSIX machine: the seed's default --shell, its pipeline's input.
POSIX_PATHS = {"/bin/sh", "/dev/urandom"}
# An absolute path: a slash that starts a string or follows a separator, up to the next one.
ABSOLUTE = re.compile(r"(?:^|(?<=[\s=\"'(\[,;:]))/[^\s\"',;)\]]*")
# py-spy 0.4's own words (recorded): EPERM from ptrace, and a process that is not Python.
PERMISSION_DENIED = (
    "Permission Denied: Try running again with elevated permissions by going 'sudo env \"PATH=$PATH\" !!'"
)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def threads_of(rec: dict[str, Any]) -> list[stacks.Thread]:
    return [t for dump in rec["dumps"].values() for t in stacks.parse(json.dumps(dump))]


def expected(rec: dict[str, Any], thread: stacks.Thread) -> Label:
    """The label a person assigns from who the thread is (the program printed the PIDs)."""
    if thread.pid == rec["parent"]:
        return Label.JOIN
    if thread.pid == rec["child"]:
        if rec["variant"] == "simplequeue":
            return Label.PUT_WRITE
        if rec["variant"] == "popen_wait":
            return Label.SUBPROCESS_WAIT
        return Label.FEEDER_WRITE if thread.name == "QueueFeederThread" else Label.EXIT_WAIT
    return Label.OTHER  # the resource tracker and the forkserver


def test_recordings_cover_every_interpreter_and_start_method() -> None:
    seen = {(load(p)["python"].rsplit(".", 1)[0], load(p)["start_method"]) for p in RECORDINGS}
    for minor in ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13"):
        assert {(minor, m) for m in ("fork", "spawn", "forkserver")} <= seen, minor


def strings(data: Any) -> list[str]:
    """Every string of a JSON value, keys included."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in (k, *strings(v))]
    if isinstance(data, list):
        return [s for v in data for s in strings(v)]
    return []


def test_recordings_carry_no_machine_paths() -> None:
    # Any absolute path must be a placeholder (<prefix>/, <repo>/, <lib>/, <src>/): a slash
    # that starts a string, or follows a separator, starts a path this machine would leak.
    for path in RECORDINGS:
        found = {p for s in strings(load(path)) for p in ABSOLUTE.findall(s)}
        assert found <= POSIX_PATHS, (path.name, sorted(found - POSIX_PATHS))
        text = path.read_text()
        assert os.path.expanduser("~") not in text and str(FIXTURES.parents[2]) not in text, path.name


def test_the_recorder_maps_every_outside_path_to_a_placeholder() -> None:
    spec = importlib.util.spec_from_file_location("record", FIXTURES / "record.py")
    assert spec is not None and spec.loader is not None
    record = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(record)
    prefix = "/opt/cpython-3.11"
    assert (
        record.clean(f"{prefix}/lib/python3.11/threading.py", prefix)
        == "<prefix>/lib/python3.11/threading.py"
    )
    built = "/scratch/build.42/Python-3.11.7/Modules/clinic/selectmodule.c.h"
    assert record.clean(built, prefix) == "<src>/Modules/clinic/selectmodule.c.h"
    assert record.clean("/usr/lib/x86_64-linux-gnu/libc.so.6", prefix) == "<lib>/libc.so.6"
    assert record.clean("/usr/src/glibc/poll.c", prefix) == "<src>/poll.c"
    assert (
        record.clean("cat /dev/urandom | head -c 1 /srv/x", prefix) == "cat /dev/urandom | head -c 1 <src>/x"
    )
    assert record.clean("/bin/sh", prefix) == "/bin/sh"
    assert record.leaks('["/srv/a", "<src>/b", "/bin/sh"]') == ["/srv/a"]


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_every_recorded_thread_gets_its_label(path: Path) -> None:
    rec = load(path)
    threads = threads_of(rec)
    assert {t.pid for t in threads} >= {rec["parent"], rec["child"]}
    for thread in threads:
        got = labels.classify(thread)
        assert got.label is expected(rec, thread), (thread.pid, thread.name, [f.name for f in thread.frames])
        assert got.tid == thread.os_thread_id


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_the_deciding_frame_is_the_one_a_person_would_point_at(path: Path) -> None:
    rec = load(path)
    by_label = {labels.classify(t).label: labels.classify(t).frame for t in threads_of(rec)}
    join = by_label[Label.JOIN]
    assert join is not None and join.function == "join" and join.file == "multiprocessing/process.py"
    if Label.FEEDER_WRITE in by_label:
        feeder = by_label[Label.FEEDER_WRITE]
        assert feeder is not None and feeder.function == "_feed"
    if Label.PUT_WRITE in by_label:
        put = by_label[Label.PUT_WRITE]
        assert put is not None and (put.file, put.function) == ("multiprocessing/queues.py", "put")
    if Label.SUBPROCESS_WAIT in by_label:
        wait = by_label[Label.SUBPROCESS_WAIT]
        assert wait is not None and (wait.file, wait.function) == ("subprocess.py", "wait")


def test_qualified_names_from_311_and_bare_names_before() -> None:
    old = threads_of(load(FIXTURES / "py38_fork_buggy.json"))
    new = threads_of(load(FIXTURES / "py311_fork_buggy.json"))
    assert "join" in [f.name for t in old for f in t.frames]
    assert "BaseProcess.join" in [f.name for t in new for f in t.frames]
    assert {labels.classify(t).label for t in old} == {labels.classify(t).label for t in new}


def test_a_fork_child_is_recognised_by_its_bootstrap_frame() -> None:
    rec = load(FIXTURES / "py311_fork_buggy.json")
    flags = {(t.pid, labels.classify(t).mp_child) for t in threads_of(rec)}
    assert (rec["child"], True) in flags and (rec["parent"], False) in flags


def test_native_and_locals_dump_parses_and_classifies_the_same() -> None:
    rec = load(FIXTURES / "py311_fork_buggy_native_locals.json")
    threads = threads_of(rec)
    frames = [f for t in threads for f in t.frames]
    assert any(f.native for f in frames), "libc/libpython frames are native"
    assert not any(f.native for f in frames if f.filename.endswith(".py"))
    assert any(f.locals and any(v.name == "self" for v in f.locals) for f in frames)
    assert {expected(rec, t) for t in threads} == {labels.classify(t).label for t in threads}


def test_the_recorded_not_python_message_maps_to_not_python() -> None:
    errors = [e for p in RECORDINGS for e in load(p)["errors"].values()]
    assert errors, "popen_wait recordings include sh, cat and head"
    assert {pyspy.problem_of(e) for e in errors} == {pyspy.Problem.NOT_PYTHON}


@pytest.mark.parametrize(
    ("stderr", "problem"),
    [
        (PERMISSION_DENIED, pyspy.Problem.PERMISSION),
        ("Error: Operation not permitted (os error 1)", pyspy.Problem.PERMISSION),
        (
            "Error: Failed to get process executable name. Check that the process is running.",
            pyspy.Problem.GONE,
        ),
        ("Error: something new", pyspy.Problem.FAILED),
    ],
)
def test_py_spy_errors_map_to_problems_with_fixes(stderr: str, problem: pyspy.Problem) -> None:
    assert pyspy.problem_of(stderr) is problem
    assert pyspy.FIXES[problem]


def test_permission_fix_names_the_container_and_yama_remedies() -> None:
    fix = pyspy.FIXES[pyspy.Problem.PERMISSION]
    assert "SYS_PTRACE" in fix and "ptrace_scope" in fix


@pytest.mark.parametrize(
    "raw", ["", "not json", "{}", '[{"pid": 1}]', '[{"pid": 1, "thread_id": 2, "frames": [{"line": 3}]}]']
)
def test_parse_rejects_what_is_not_a_dump(raw: str) -> None:
    with pytest.raises(stacks.SpyError):
        stacks.parse(raw)


def test_parse_accepts_an_empty_dump() -> None:
    assert stacks.parse("[]") == ()


def f(name: str, file: str) -> Frame:
    return Frame(name, f"<prefix>/lib/python3.12/{file}", file, None, 1)


def test_innermost_known_frame_decides() -> None:
    # A parent at interpreter exit joins its children inside _exit_function: that is a join.
    exiting = (
        f("wait", "multiprocessing/popen_fork.py"),
        f("BaseProcess.join", "multiprocessing/process.py"),
        f("_exit_function", "multiprocessing/util.py"),
    )
    assert labels.label_of(exiting)[0] is Label.JOIN
    idle = (f("Condition.wait", "threading.py"), f("Queue._feed", "multiprocessing/queues.py"))
    assert labels.label_of(idle)[0] is Label.FEEDER_IDLE
    reading = (f("_recv", "multiprocessing/connection.py"), f("Queue.get", "multiprocessing/queues.py"))
    assert labels.label_of(reading)[0] is Label.READ
    unknown = (f("sleep", "time.py"), f("main", "app.py"))
    assert labels.label_of(unknown) == (Label.OTHER, unknown[0])
    assert labels.label_of(()) == (Label.OTHER, None)


def test_a_subprocess_py_file_elsewhere_is_not_multiprocessing() -> None:
    # Same bare name, other module: Popen.wait of subprocess is not a process join.
    assert labels.label_of((f("Popen.wait", "subprocess.py"),))[0] is Label.SUBPROCESS_WAIT
    assert labels.label_of((f("Popen.wait", "multiprocessing/popen_fork.py"),))[0] is Label.JOIN
    assert labels.label_of((f("join", "mylib/process.py"),))[0] is Label.OTHER


def test_find_honours_an_explicit_binary_and_hides_a_missing_one(tmp_path: Path) -> None:
    fake = tmp_path / "py-spy"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert pyspy.find(str(fake)) == str(fake)
    assert pyspy.find(str(tmp_path / "absent")) is None
    assert pyspy.find(str(tmp_path)) is None, "a directory is not a binary"


def test_find_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(pyspy.PYSPY_ENV, str(tmp_path / "absent"))
    assert pyspy.find() is None
    d = pyspy.dump(os.getpid())
    assert d.problem is pyspy.Problem.MISSING and "absent" in d.error and not d.ok


def test_native_frames_are_told_by_their_library_not_by_placeholders() -> None:
    frames = [f for t in threads_of(load(FIXTURES / "py311_fork_buggy_native_locals.json")) for f in t.frames]
    by_file = {f.filename: f.native for f in frames}
    assert by_file["<src>/Modules/selectmodule.c"] and by_file["<lib>/libc.so.6"]
    assert not by_file["<prefix>/lib/python3.11/threading.py"]
    frozen = Frame(
        "_find_and_load", "<frozen importlib._bootstrap>", "<frozen importlib._bootstrap>", None, 1
    )
    assert not frozen.native


def test_stacks_render_every_thread_with_its_frames_innermost_first() -> None:
    rec = load(FIXTURES / "py311_fork_buggy.json")
    parent = stacks.parse(json.dumps(rec["dumps"][str(rec["parent"])]))
    text = stacks.render(parent)
    lines = text.splitlines()
    assert lines[0].startswith(f"MainThread (tid {rec['parent']}")
    frames = [ln.strip() for ln in lines[1:] if ln.startswith("    ")]
    assert frames == [f.where() for f in parent[0].frames]
    assert any(ln.startswith("BaseProcess.join (multiprocessing/process.py:") for ln in frames)


def test_stacks_render_marks_native_frames_and_shows_locals() -> None:
    rec = load(FIXTURES / "py311_fork_buggy_native_locals.json")
    text = "\n".join(stacks.render(stacks.parse(json.dumps(d))) for d in rec["dumps"].values())
    assert "select_poll_poll_impl (selectmodule.c:655)  [native]" in text
    assert re.search(r"^        self = <", text, re.M), "locals follow their frame"


def test_spy_pid_on_a_process_we_may_not_read_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # /proc/PID/syscall is refused for another user's process (ptrace_may_access): one line
    # that says how to get access, not "no such process" and not a traceback.
    monkeypatch.setattr(snapshot, "PROC", "/proc")
    real_open = open

    def refusing(path: str, *args: Any, **kw: Any) -> Any:
        if str(path).endswith("/syscall"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kw)

    monkeypatch.setattr("builtins.open", refusing)
    with pytest.raises(UsageError, match=r"cannot observe PID \d+: it is not ours; run as its user or root"):
        api.check(os.getppid())
