"""The architecture, checked: data flows one way, program -> harness -> verdict -> analysis."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The composition roots: only these commands wire the code that runs programs to the analysis.
COMPOSITION = {"repro/commands/demo.py", "repro/commands/explain.py", "repro/commands/report.py"}
#: Layers, lowest first: a module may import from its own layer and the layers below it.
#: The name is a module or subpackage of ``joinstall`` (``analysis`` is ``joinstall.analysis``).
LAYERS = (
    {"__version__", "errors", "programs", "defaults", "files"},
    {"observe", "model", "interpreters", "lint", "spy"},
    # One diagnosis engine, above /proc and py-spy, below everything that watches a tree.
    {"engine"},
    {"records", "variants", "reaper"},
    {"resultsfile"},
    {"harness", "options"},
    # The package itself re-exports the engine's entry point (``joinstall.diagnose``).
    {"__init__"},
    {"measure", "plugin"},
    {"demo"},
    {"analysis"},
    {"commands", "cli", "__main__"},
)
#: Upward imports that exist today and are on their way out. Do not add to this list.
KNOWN_UPWARD: set[tuple[str, str]] = set()


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
    return [ROOT / r for r in rel if str(r) not in COMPOSITION]


def unit(path: Path) -> str:
    """The layer name of a file: ``repro/measure/grid.py`` -> ``measure``."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    if rel[0] == "analysis":
        return "analysis"
    dotted = ".".join(rel[1:3])
    return dotted if _known(dotted) else rel[1]


def _known(name: str) -> bool:
    return any(name in layer for layer in LAYERS)


def target(name: str) -> str | None:
    """The layer name of an imported ``joinstall...`` name, or None for anything else."""
    parts = name.split(".")
    if parts[0] != "joinstall":
        return None
    if len(parts) == 1:
        # `from joinstall import x`: the package is only the way to x, which is checked itself.
        return None
    if parts[1] == "__version__":
        # Read from the package metadata: it depends on nothing.
        return "__version__"
    dotted = ".".join(parts[1:3])
    if _known(dotted):
        return dotted
    # `from joinstall import __version__`: a name defined in the package's __init__.
    return parts[1] if _known(parts[1]) else "__init__"


def rank(name: str) -> int:
    return next(n for n, layer in enumerate(LAYERS) if name in layer)


@pytest.mark.parametrize("path", engine(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_engine_does_not_import_the_analysis(path: Path) -> None:
    assert not any(
        name == "joinstall.analysis" or name.startswith("joinstall.analysis.") for name in imports(path)
    )


@pytest.mark.parametrize(
    "path", [*modules("repro"), *modules("analysis")], ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_module_imports_upward(path: Path) -> None:
    own = unit(path)
    assert any(own in layer for layer in LAYERS), f"{own} has no layer: add it to LAYERS"
    upward = {
        t
        for t in filter(None, map(target, imports(path)))
        if t != own and rank(t) > rank(own) and (str(path.relative_to(ROOT)), t) not in KNOWN_UPWARD
    }
    assert not upward, f"{own} (layer {rank(own)}) imports from above: {sorted(upward)}"


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


def test_the_harness_only_starts_watches_and_reaps() -> None:
    """It watches through the engine; py-spy and the analysis are not its business."""
    names = imports(ROOT / "repro" / "harness.py")
    assert not {n for n in names if n.startswith(("joinstall.spy", "joinstall.analysis"))}


def test_the_target_program_needs_only_the_standard_library() -> None:
    names = {name.split(".")[0] for name in imports(ROOT / "repro" / "programs" / "seed.py")}
    assert not names & {"repro", "analysis", "psutil", "matplotlib", "tqdm"}


#: One concept per module of ``repro/measure``: a search, a sweep, its pool, its summary, ...
#: A concept's plan, run and wrapper live together, not in files of their own.
MEASURE = {
    "__init__", "eligible", "grid", "matrix", "measurements", "multiputmap", "pool", "probes",
    "summary", "sweep", "threshold",
}  # fmt: skip
#: Read in one sitting: a module longer than this holds more than one idea.
MAX_MODULE_LINES = 200


def test_measure_holds_one_module_per_concept() -> None:
    assert {p.stem for p in modules("repro/measure")} == MEASURE


@pytest.mark.parametrize("path", modules("repro/measure"), ids=lambda p: p.name)
def test_measure_modules_are_short_and_say_what_they_are(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES
    assert path.stem == "__init__" or ast.get_docstring(ast.parse(path.read_text()))
