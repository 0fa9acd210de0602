"""``joinstall explain``: a hang saved by ``spy --save`` is told again after its tree is gone.

One real hang (the seed under spawn: parent, resource tracker, child) is proven and saved once;
every explain below runs with no /proc (``JOINSTALL_PROCFS`` is an empty folder) and no py-spy,
as on a machine that never saw the processes.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
from joinstall.engine import saved
from joinstall.spy import pyspy

from tests.integration.helpers import ROOT, joinstall, started, usage_error

pytestmark = pytest.mark.integration
SEED = ROOT / "tests" / "engine_corpus" / "seed_join.py"


@dataclasses.dataclass(frozen=True)
class Saved:
    path: Path
    #: What ``spy`` printed when it saved the file.
    printed: str
    #: Where an explain runs: no /proc, no py-spy.
    elsewhere: dict[str, str]


@pytest.fixture(scope="module")
def hang(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    folder = tmp_path_factory.mktemp("explain")
    (folder / "no-proc").mkdir()
    path = folder / "hang.json"
    with started(sys.executable, str(SEED), "spawn") as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        done = joinstall("spy", "--pid", str(proc.pid), "--budget", "10", "--save", str(path))
    assert done.returncode == 0 and done.stdout.startswith("STALLED: "), done.stdout + done.stderr
    assert f"saved to {path}" in done.stderr
    elsewhere = {"JOINSTALL_PROCFS": str(folder / "no-proc"), pyspy.PYSPY_ENV: "/nonexistent/py-spy"}
    return Saved(path, done.stdout, elsewhere)


@pytest.mark.timeout(60)
def test_explain_tells_what_spy_told_with_no_proc_and_no_py_spy(hang: Saved) -> None:
    figure = hang.path.with_name("cycle.svg")
    done = joinstall("explain", str(hang.path), "--figure", str(figure), env=hang.elsewhere)
    assert done.returncode == 0, done.stderr
    assert done.stdout == hang.printed
    assert "QueueFeederThread" in done.stdout and "Stacks: add --stacks" in done.stdout
    assert b"<svg" in figure.read_bytes()[:4096]
    stacked = joinstall("explain", str(hang.path), "--stacks", env=hang.elsewhere)
    assert "py-spy stacks of process " in stacked.stdout and "BaseProcess.join" in stacked.stdout


@pytest.mark.timeout(60)
def test_explain_json_is_the_document_spy_prints(hang: Saved) -> None:
    figure = hang.path.with_name("cycle.png")
    done = joinstall("explain", str(hang.path), "--json", "--figure", str(figure), env=hang.elsewhere)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    was = json.loads(hang.path.read_text())["diagnosis"]
    assert out == was
    assert out["kind"] == "diagnosis" and out["verdict"] == "stalled" and len(out["stuck_pids"]) == 3
    assert figure.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.timeout(60)
def test_a_figure_neither_svg_nor_png_exits_2_and_writes_nothing(hang: Saved) -> None:
    figure = hang.path.with_name("cycle.txt")
    line = usage_error(joinstall("explain", str(hang.path), "--figure", str(figure), env=hang.elsewhere))
    assert ".svg or .png" in line and not figure.exists()


@pytest.mark.timeout(60)
def test_files_explain_cannot_read_exit_2_with_one_line(hang: Saved) -> None:
    good = hang.path.read_text()
    doc = json.loads(good)
    bad = {
        "notes.txt": ("not JSON", "my notes\n"),
        "cut.json": ("cut short", good[: len(good) // 3]),
        "spy.json": ("without its evidence", json.dumps(doc["diagnosis"])),
        "newer.json": ("upgrade joinstall", json.dumps({**doc, "schema": saved.SCHEMA + 1})),
    }
    for name, (said, content) in bad.items():
        path = hang.path.with_name(name)
        path.write_text(content)
        assert said in usage_error(joinstall("explain", str(path), env=hang.elsewhere)), name


@pytest.mark.timeout(60)
def test_spy_refuses_to_save_over_a_foreign_file_before_it_samples(tmp_path: Path) -> None:
    notes = tmp_path / "notes.json"
    notes.write_text("my notes\n")
    # No such process either: the file is refused first, so nothing was sampled.
    line = usage_error(joinstall("spy", "--pid", "999999999", "--save", str(notes)))
    assert "not a joinstall saved diagnosis" in line and notes.read_text() == "my notes\n"
