"""`python -m repro report`: real runs in, a report with figures out; bad input is one line, exit 2.

The results files are written here the way the engine writes them: real runs through
``harness.run`` and a real threshold search, appended with ``resultsfile.Writer``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from joinstall import harness, resultsfile
from joinstall.measure import threshold
from joinstall.records import RunSpec

from tests.integration.helpers import usage_error

pytestmark = pytest.mark.integration


def report(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "joinstall", "report", *map(str, args)]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess[str], says: str) -> None:
    line = usage_error(done)
    assert line.startswith("joinstall report: error: ") and says in line


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Buggy and fixed just below and above the threshold, and at 1 MiB (about a second)."""
    path = tmp_path_factory.mktemp("results") / "sweep.jsonl"
    with resultsfile.Writer(path, {"test": "report"}, resume=False) as out:
        for variant in ("buggy", "fixed"):
            for size in (65514, 65515, 1 << 20):
                result = harness.run(RunSpec(variant=variant, size=size, timeout=5.0))
                out.append({"kind": "run", "key": f"{variant}:{size}", "result": result.to_dict()})
    return path


@pytest.fixture(scope="module")
def thresholds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("results") / "thresholds.jsonl"
    with resultsfile.Writer(path, {"test": "threshold"}, resume=False) as out:
        out.append(threshold.threshold(sys.executable).to_record())
    return path


@pytest.mark.timeout(120)
def test_a_report_from_real_runs_has_its_figures_table_and_threshold(
    sweep: Path, thresholds: Path, tmp_path: Path
) -> None:
    done = report(sweep, thresholds, "-o", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert f"wrote {out / 'report.md'}" in done.stdout
    files = sorted(p.name for p in out.iterdir())
    assert files == ["report.md", "thresholds.png", "thresholds.svg", "timeouts.png", "timeouts.svg"]
    text = (out / "report.md").read_text()
    assert "![time until join returns vs payload size](timeouts.png)" in text
    # The bug stalls above the threshold and the fix never does, so both rows are as expected.
    assert "| buggy | bug | ok up to the threshold, stalled above it | 3 | 1 | 2 | 0 | 0 | 3 of 3 |" in text
    assert "| fixed | fix | ok at every size | 3 | 3 | 0 | 0 | 0 | 3 of 3 |" in text
    assert "up to 65,514 payload bytes passes and 65,515 bytes stall" in text
    assert "| 65,536 (64 KiB) |" in text and "| 65,514 | 65,514 | yes |" in text
    assert "No py-spy diagnosis in these results" in text
    assert (out / "timeouts.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.timeout(120)
def test_a_spy_record_puts_its_cycle_and_stacks_into_the_report(sweep: Path, tmp_path: Path) -> None:
    # A real capture: the buggy program hung at 1 MiB, py-spy on its tree, the cycle found.
    result = harness.run(RunSpec(variant="buggy", size=1 << 20, spy=True))
    assert result.proof is not None and result.proof.cycle, result.explanation
    diagnosis = result.proof.to_dict()
    spy = tmp_path / "spy.jsonl"
    with resultsfile.Writer(spy, {"test": "spy"}, resume=False) as out:
        out.append({"kind": "spy", "key": "spy:buggy:1MiB", "diagnosis": diagnosis})
    done = report(sweep, spy, "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out" / "report.md").read_text()
    # The engine's own words, shown as it wrote them (wrapped to 100 columns), each step once.
    squeezed = "".join(text.split())
    for step in result.proof.cycle:
        assert squeezed.count("".join(step.split())) == 1, step
    # Every dumped process's stacks, with the feeder blocked in its write.
    for pid in result.proof.stacks:
        assert f"process {pid}:\n" in text
    assert "QueueFeederThread (tid " in text and "_feed (" in text and "join (" in text
    assert "No py-spy diagnosis" not in text


@pytest.mark.timeout(120)
def test_results_without_the_fixed_variant_still_report_and_say_so(sweep: Path, tmp_path: Path) -> None:
    buggy_only = tmp_path / "buggy.jsonl"
    lines = sweep.read_text().splitlines(keepends=True)
    buggy_only.write_text("".join(line for line in lines if '"variant": "fixed"' not in line))
    done = report(buggy_only, "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "note: these results have no single-message runs of the fixed variant" in done.stdout
    text = (tmp_path / "out" / "report.md").read_text()
    assert "**Note:** these results have no single-message runs of the fixed variant" in text
    assert "| fixed |" not in text


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("variant,size,verdict\nbuggy,65515,stalled\n", "not a joinstall results file"),
        ('{"kind": "run", "key": "x"}\n', "not a joinstall results file"),
        (json.dumps({"kind": "meta", "schema": resultsfile.SCHEMA}) + "\n", "no records, only metadata"),
    ],
    ids=["missing", "empty", "foreign-csv", "foreign-json", "only-metadata"],
)
def test_bad_results_files_are_one_line_and_exit_2(tmp_path: Path, content: str | None, says: str) -> None:
    path = tmp_path / "results.jsonl"
    if content is not None:
        path.write_text(content)
    one_line_error(report(path, "-o", "out", cwd=tmp_path), says)
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(60)
def test_an_unwritable_output_folder_is_one_line_and_exit_2(sweep: Path, tmp_path: Path) -> None:
    # A path below a regular file cannot be a folder, whoever runs the test (root included).
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    one_line_error(report(sweep, "-o", blocker / "out", cwd=tmp_path), "cannot create the report folder")


@pytest.mark.timeout(60)
def test_no_results_file_is_a_usage_error(tmp_path: Path) -> None:
    done = report(cwd=tmp_path)
    assert done.returncode == 2 and "the following arguments are required: RESULTS" in done.stderr
