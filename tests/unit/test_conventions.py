"""Command-line conventions: --version, bare help, --json everywhere, progress only on a TTY,
100 columns, sorted summaries, and the metadata a package index shows."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import pytest
from joinstall import __version__, cli, demo
from joinstall.measure.summary import StallStart, SweepSummary

ROOT = Path(__file__).resolve().parents[2]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+
#: The eight commands the issue names; each prints its result as JSON on request.
COMMANDS = ("demo", "matrix", "report", "run", "spy", "sweep", "threshold", "variants")
pytestmark = pytest.mark.timeout(60)


def _joinstall(*args: str, shell: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = shell or [sys.executable, "-m", "joinstall", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=50, shell=shell is not None, cwd=ROOT)


def test_version() -> None:
    done = _joinstall("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"joinstall {__version__}"


def test_bare_joinstall_prints_help_for_users() -> None:
    done = _joinstall()
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("usage: joinstall")
    assert "join-before-get stall" in done.stdout
    # The module docstring is for developers of joinstall, not for its users.
    assert "one module per subcommand" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 100


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_json(name: str) -> None:
    options = {opt for a in _subparsers()[name]._actions for opt in a.option_strings}
    assert "--json" in options


def test_a_closed_pipe_is_not_a_traceback() -> None:
    done = _joinstall(shell=f"{sys.executable} -m joinstall variants | head -1")
    assert done.returncode == 0 and done.stdout.count("\n") == 1
    assert done.stderr == "", done.stderr


@pytest.mark.parametrize(("columns", "width"), [(None, 80), ("250", 100)], ids=["piped", "wide"])
def test_variants_fit_the_terminal_and_never_exceed_100_columns(columns: str | None, width: int) -> None:
    env = {"PATH": "/usr/bin:/bin", **({"COLUMNS": columns} if columns else {})}
    done = subprocess.run(
        [sys.executable, "-m", "joinstall", "variants"], capture_output=True, text=True, timeout=50, env=env
    )
    assert done.returncode == 0
    assert max(len(line) for line in done.stdout.splitlines()) <= width


def test_progress_bars_are_drawn_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    steps = demo._Steps(tmp_path, demo.QUICK, 1, demo.say_line, progress=True)
    with steps._bar(3, "steps") as bar:
        bar.update()
    assert "\r" not in piped.getvalue()


def test_the_sweep_summary_is_sorted(tmp_path: Path) -> None:
    summary = SweepSummary(
        path=tmp_path / "s.jsonl", ran=3, skipped=0, repaired=False,
        counts={"pipe": {"ok": 1}, "buggy": {"stalled": 1, "ok": 1}, "fixed": {"ok": 1}},
        stalls=(StallStart("fixed", 1, None, None), StallStart("buggy", 1, 2, 2)), multiput=(),
    )  # fmt: skip
    names = [line.split(":")[0].strip() for line in summary.lines()[1:]]
    assert names == ["buggy", "fixed", "pipe"]
    assert list(summary.to_dict()["counts"]) == ["buggy", "fixed", "pipe"]


def test_package_metadata_for_an_index() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "LICENSE" in meta["license-files"]
    assert any(c.startswith("Operating System :: POSIX :: Linux") for c in meta["classifiers"])
    assert {"Homepage", "Issues"} <= set(meta["urls"])
    # The index shows its own page, which starts with pip install; the checkout's README keeps
    # the two-command quick start of a fresh machine.
    assert (ROOT / meta["readme"]).read_text().split("```", 1)[1].startswith("\npip install joinstall")
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert quick.strip().startswith("```\nmake demo\nmake test\n```")
