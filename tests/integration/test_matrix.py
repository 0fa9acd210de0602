"""The interpreter matrix: every interpreter found, each start method, measured == predicted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from repro import interpreters, matrix

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
            assert matrix.TOO_OLD in reasons[path]
    table = result.table()
    for interp in found:
        assert f"Python {interp.version}" in table
    records = result.records()
    assert {r["kind"] for r in records} == {"matrix"}


@pytest.mark.timeout(180)
def test_matrix_command_over_two_interpreters_and_all_start_methods() -> None:
    found = two_interpreters()
    pick = [found[0], found[-1]]
    argv = [PY, "-m", "repro", "matrix", "--json", "-j", "2"]
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
    found, skipped = matrix.candidates([*old, PY])
    assert [i.path for i in found] == [PY]
    assert all(matrix.TOO_OLD in s.reason for s in skipped), skipped


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "argv",
    [["-j", "0"], ["--puts", "0"], ["--pipe-size", "2MiB"], ["--python", "/nonexistent/python"]],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str]) -> None:
    done = subprocess.run([PY, "-m", "repro", "matrix", *argv], capture_output=True, text=True, timeout=50)
    assert done.returncode == 2, done
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
