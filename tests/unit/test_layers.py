"""The architecture, checked: data flows one way, program -> harness -> verdict -> analysis."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The composition roots: the commands and the demo wire the engine to the analysis.
COMPOSITION = {"repro/demo.py", "repro/cli.py"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def engine() -> list[Path]:
    """Every module of repro/ except the composition roots, which wire it to the analysis."""
    rel = [p.relative_to(ROOT) for p in modules("repro")]
    return [ROOT / r for r in rel if str(r) not in COMPOSITION and r.parts[1] != "commands"]


@pytest.mark.parametrize("path", engine(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_engine_does_not_import_the_analysis(path: Path) -> None:
    assert not any(
        name == "joinstall.analysis" or name.startswith("joinstall.analysis.") for name in imports(path)
    )


@pytest.mark.parametrize("path", modules("analysis"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_analysis_never_runs_programs(path: Path) -> None:
    forbidden = {
        "subprocess",
        "joinstall.harness",
        "joinstall.measure.sweep",
        "joinstall.measure.threshold",
        "joinstall.measure.matrix",
        "joinstall.reaper",
    }
    assert not imports(path) & forbidden


def test_the_target_program_needs_only_the_standard_library() -> None:
    names = {name.split(".")[0] for name in imports(ROOT / "repro" / "programs" / "seed.py")}
    assert not names & {"repro", "analysis", "psutil", "matplotlib", "tqdm"}
