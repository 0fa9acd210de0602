"""The built wheel installs one import name, ``joinstall``: a user's own ``analysis/`` and
``repro/`` packages can never be shadowed by ours, nor shadow ours."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What a checkout holds beside the sources: the venv, caches, earlier builds, results.
NOT_SOURCE = (".*", "build", "*.egg-info", "__pycache__", "results", "notebooks")


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_the_wheel_has_one_top_level_name(tmp_path: Path) -> None:
    # Built from a copy: pip builds in the source tree, and the checkout's build/ would both
    # change under this test and hand stale files of earlier builds to the wheel.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("joinstall-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"joinstall"}, tops
    assert "joinstall/plugin/__init__.py" in names and "joinstall/analysis/__init__.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[pytest11]\njoinstall = joinstall.plugin" in text


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_python_m_joinstall_beside_a_user_s_own_packages(tmp_path: Path) -> None:
    for name in ("analysis", "repro"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('the user package was imported')\n")
    done = subprocess.run(
        [sys.executable, "-m", "joinstall", "watch", "--", sys.executable, "-c", "import analysis, repro"],
        cwd=tmp_path, capture_output=True, text=True, timeout=50,
    )  # fmt: skip
    # Ours ran (watch), and the user's command, from the same directory, got the user's packages.
    assert done.returncode == 1 and "the user package was imported" in done.stderr, done.stderr
    version = subprocess.run(
        [sys.executable, "-m", "joinstall", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert version.returncode == 0 and version.stdout.startswith("joinstall "), version.stderr
