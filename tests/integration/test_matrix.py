"""The interpreter matrix: every interpreter found, each start method, measured == predicted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from joinstall import interpreters
from joinstall.measure import eligible, matrix

from tests.integration.helpers import joinstall, usage_error

pytestmark = pytest.mark.integration
PY = sys.executable


def two_interpreters() -> list[interpreters.Interpreter]:
    found, _ = interpreters.discover()
    if len(found) < 2:
        pytest.skip(f"the matrix needs two interpreters; found {[i.version for i in found]}")
    return found


@pytest.mark.timeout(180)
def test_matrix_covers_every_interpreter_and_agrees() -> None:
    found = two_interpreters()
    # One start method keeps the suite fast; the command test below covers all of them.
    result = matrix.run(start_methods=["spawn"], jobs=2)
    assert {c.python_version for c in result.cells} == {i.version for i in found}
    assert all(c.start_method == "spawn" for c in result.cells)
    assert not result.errors
    assert all(c.measured == c.predicted for c in result.cells), result.table()
    assert result.agree
    # Python 2.7 cannot run the program: it is listed as skipped, with that reason.
    reasons = {s.path: s.reason for s in result.skipped}
    for path in interpreters.candidates():
        if "2.7" in path:
            assert eligible.TOO_OLD in reasons[path]
    table = result.table()
    for interp in found:
        assert f"Python {interp.version}" in table
    records = result.records()
    assert {r["kind"] for r in records} == {"matrix"}


@pytest.mark.timeout(180)
def test_matrix_command_over_two_interpreters_and_all_start_methods() -> None:
    found = two_interpreters()
    pick = [found[0], found[-1]]
    argv = [PY, "-m", "joinstall", "matrix", "--json", "-j", "2"]
    for interp in pick:
        argv += ["--python", interp.path]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr + done.stdout
    data = json.loads(done.stdout)
    cells = {(c["python_version"], c["start_method"]) for c in data["cells"]}
    assert cells == {(i.version, m) for i in pick for m in i.start_methods}
    assert all(c["measured"] == c["predicted"] for c in data["cells"])
    assert data["agree"] is True


@pytest.mark.timeout(60)
def test_old_interpreters_are_skipped_with_the_reason() -> None:
    old = [p for p in interpreters.candidates() if "2.7" in p or "3.6" in p or "3.7" in p]
    if not old:
        pytest.skip("no interpreter older than 3.8 is installed here")
    found, skipped = eligible.candidates([*old, PY])
    assert [i.path for i in found] == [PY]
    assert all(eligible.TOO_OLD in s.reason for s in skipped), skipped


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "argv",
    [
        ["-j", "0"],
        ["--puts", "0"],
        ["--pipe-size", "3GiB"],
        ["--python", "/nonexistent/python"],
        ["--python", PY, "--start-method", "telepathy"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str]) -> None:
    usage_error(joinstall("matrix", *argv))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["under-a-file", "a-directory"])
def test_an_unwritable_output_exits_2_before_any_cell(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a directory\n")
    out = blocker / "m.jsonl" if where == "under-a-file" else tmp_path
    done = joinstall("matrix", "--python", PY, "-o", str(out))
    assert str(out) in usage_error(done)
    assert done.stdout == "", "a cell was measured although its results could not be written"


@pytest.mark.timeout(120)
def test_one_interpreter_one_method_into_a_results_file(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    argv = [PY, "-m", "joinstall", "matrix", "--python", PY, "--start-method", "fork", "--pipe-size", "8KiB"]
    done = subprocess.run([*argv, "-o", str(out)], capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr + done.stdout
    meta, *records = [json.loads(line) for line in out.read_text().splitlines()]
    assert meta["kind"] == "meta" and [r["kind"] for r in records] == ["matrix"]
    assert records[0]["capacity"] == 8192 and records[0]["measured"] == records[0]["predicted"]
