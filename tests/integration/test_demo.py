"""`joinstall demo` end to end, in its quick mode: every step runs for real, on fewer points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.helpers import joinstall

pytestmark = pytest.mark.integration


@pytest.mark.timeout(240)
def test_quick_demo_writes_results_figures_and_report(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = joinstall("demo", "--quick", "--no-progress", "--out", str(out), timeout=220)
    assert done.returncode == 0, done.stdout + done.stderr
    for step in range(1, 8):
        assert f"[{step}/7]" in done.stdout
    report = out / "report" / "report.md"
    assert f"report:  {report}" in done.stdout
    text = report.read_text()
    assert "cancel_join_thread" in text and "The wait-for cycle:" in text
    for name in ("timeouts", "thresholds", "multiput", "matrix"):
        assert (out / "report" / f"{name}.png").stat().st_size > 10_000
        assert (out / "report" / f"{name}.svg").exists()
    thresholds = [json.loads(line) for line in (out / "thresholds.jsonl").read_text().splitlines()[1:]]
    assert {t["capacity"] for t in thresholds} == {4096, 65536}
    assert all(t["measured"] == t["predicted"] for t in thresholds)


@pytest.mark.timeout(30)
def test_demo_refuses_an_unwritable_out(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = joinstall("demo", "--out", str(blocker / "results"))
    assert done.returncode == 2 and "is a file, not a folder" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
