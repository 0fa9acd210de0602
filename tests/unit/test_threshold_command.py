"""`joinstall threshold`'s exit codes and its output file, with the measurement replaced."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from joinstall import cli
from joinstall.measure import threshold as th
from joinstall.measure.measurements import Probe, ThresholdResult

PY = sys.executable


@dataclasses.dataclass
class FakeSearch:
    """Stands in for a planned search: only the exit-code mapping is under test."""

    result: ThresholdResult
    ran: bool = False

    def run(self, use_prediction: bool = True, on_probe: object = None) -> ThresholdResult:
        self.ran = True
        return self.result


def _result(measured: int) -> ThresholdResult:
    return ThresholdResult(PY, "3.11.7", "fork", 0, 65536, 1, measured, 65514, measured == 65514, 2, 0.1,
                           trace=(Probe(65514, 1, False, 0.1, 65536),))  # fmt: skip


def _plan(monkeypatch: pytest.MonkeyPatch, measured: int) -> FakeSearch:
    fake = FakeSearch(_result(measured))
    monkeypatch.setattr(th, "plan_threshold", lambda *a, **k: fake)
    return fake


def test_command_exits_1_when_measurement_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CI guard for the model.
    _plan(monkeypatch, 65000)
    assert cli.main(["threshold", "--json"]) == 1


def test_command_exits_0_when_measurement_agrees(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _plan(monkeypatch, 65514)
    assert cli.main(["threshold"]) == 0
    assert "agree" in capsys.readouterr().out


@pytest.mark.parametrize("where", ["under-a-file", "a-directory"])
def test_an_unwritable_output_is_refused_before_the_search_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str
) -> None:
    fake = _plan(monkeypatch, 65514)
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a directory\n")
    out = blocker / "t.jsonl" if where == "under-a-file" else tmp_path
    assert cli.main(["threshold", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out) in err
    assert not fake.ran, "the search ran although its results could not be written"
