"""`joinstall lint` as users and tools run it: exit codes, stdin, formats, flake8, pre-commit."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from joinstall.lint.runner import PARALLEL_FROM

from tests.integration.helpers import ROOT, joinstall, usage_error
from tests.lint_corpus import score

pytestmark = pytest.mark.integration

HANG = score.ROOT / "hang" / "docs_example.py"
FINE = score.ROOT / "fine" / "docs_fixed.py"


@pytest.mark.timeout(60)
def test_exit_status_is_0_when_clean_1_with_findings_2_for_a_missing_path() -> None:
    assert joinstall("lint", str(FINE)).returncode == 0
    done = joinstall("lint", str(HANG), str(FINE))
    assert done.returncode == 1
    assert re.fullmatch(
        rf"{re.escape(str(HANG))}:14:5: JS101 p\.join\(\) before queue is drained: .*\n", done.stdout
    )
    assert "no such file or folder: missing.py" in usage_error(joinstall("lint", str(FINE), "missing.py"))


@pytest.mark.timeout(60)
def test_stdin_and_a_file_that_does_not_parse_do_not_stop_the_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def (:\n")
    done = subprocess.run(
        [sys.executable, "-m", "joinstall", "lint", str(bad), "-", str(HANG)],
        input=HANG.read_text(), capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stderr
    assert [line.split(" ")[:2] for line in lines] == [
        [f"{bad}:1:5:", "E999"], ["stdin:14:5:", "JS101"], [f"{HANG}:14:5:", "JS101"]
    ]  # fmt: skip


@pytest.mark.timeout(60)
def test_a_symbolic_link_loop_is_a_finding_that_says_so_named_or_found(tmp_path: Path) -> None:
    loop = tmp_path / "loop.py"
    loop.symlink_to(loop)
    for args in ([str(loop)], [str(tmp_path)]):
        done = joinstall("lint", *args)
        assert done.returncode == 1, done.stderr
        assert done.stdout == f"{loop}:1:1: E902 cannot read: Too many levels of symbolic links\n"


@pytest.mark.timeout(60)
def test_json_and_sarif() -> None:
    rows = json.loads(joinstall("lint", "--format", "json", str(HANG)).stdout)
    assert rows == [{"path": str(HANG), "line": 14, "col": 5, "code": "JS101", "message": rows[0]["message"]}]
    sarif = json.loads(joinstall("lint", "--format", "sarif", str(HANG)).stdout)
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["JS101", "JS102", "JS103", "JS104"]
    (result,) = run["results"]
    assert result["ruleId"] == "JS101" and result["ruleIndex"] == 0
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 14, "startColumn": 5}
    assert json.loads(joinstall("lint", "--format", "sarif", str(FINE)).stdout)["runs"][0]["results"] == []


@pytest.mark.timeout(60)
def test_explain_select_and_ignore() -> None:
    page = joinstall("lint", "--explain", "JS101")
    assert page.returncode == 0 and page.stdout.startswith("JS101 join before drain")
    assert "JS999" in usage_error(joinstall("lint", "--explain", "JS999"))
    assert "XY1" in usage_error(joinstall("lint", "--select", "XY1", str(HANG)))
    assert joinstall("lint", "--select", "JS102,JS103", str(HANG)).returncode == 0
    assert joinstall("lint", "--ignore", "JS1", str(HANG)).returncode == 0
    assert "PATH" in usage_error(joinstall("lint"))


@pytest.mark.timeout(120)
def test_many_files_in_parallel_give_what_one_process_gives(tmp_path: Path) -> None:
    programs = score.programs()
    for i in range(PARALLEL_FROM // len(programs) + 1):
        for p in programs:
            dest = tmp_path / f"copy{i}" / p.parent.name / p.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(p, dest)
    parallel = joinstall("lint", "-j", "2", str(tmp_path))
    serial = joinstall("lint", "-j", "1", str(tmp_path))
    assert parallel.returncode == serial.returncode == 1
    assert parallel.stdout == serial.stdout and parallel.stdout.count("JS10") > PARALLEL_FROM // 2


@pytest.mark.timeout(60)
@pytest.mark.skipif(
    importlib.util.find_spec("flake8") is None, reason="flake8 is not installed (pip install -e '.[test]')"
)
def test_flake8_runs_the_rules_through_its_plugin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "JS", str(HANG), str(FINE)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(f"{HANG}:14:5: JS101 p.join() before queue is drained")
    assert len(done.stdout.splitlines()) == 1


@pytest.mark.timeout(60)
def test_the_pre_commit_hook_runs_its_entry_on_python_files() -> None:
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert re.search(r"^- id: joinstall-lint$", hooks, re.M) and re.search(
        r"^  types: \[python\]$", hooks, re.M
    )
    entry = re.search(r"^  entry: (.+)$", hooks, re.M)
    assert entry is not None
    command, *args = entry.group(1).split()
    exe = Path(sys.executable).parent / command
    done = subprocess.run([str(exe), *args, str(HANG)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "JS101" in done.stdout


@pytest.mark.timeout(30)
def test_a_fifo_named_like_a_module_inside_a_folder_is_skipped_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "ok.py").write_text("x = 1\n")
    done = joinstall("lint", str(tmp_path), timeout=20)
    assert done.returncode == 0, done.stdout + done.stderr
