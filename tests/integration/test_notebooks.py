"""The teaching notebooks run top to bottom and show what they promise.

Each one is executed with nbclient in a fresh ``python3`` kernel whose working folder is a
temporary one, so whatever a notebook writes stays out of the checkout. Notebooks are stored
without outputs; these tests also keep it that way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(name: str, cwd: Path) -> list[str]:
    """Run every cell; return the text each code cell printed or displayed, cell by cell."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    # nbclient raises CellExecutionError on the first failing cell, naming it and its traceback.
    client.execute()
    return [_text(cell.get("outputs", [])) for cell in nb.cells if cell.cell_type == "code"]


def _text(outputs: list[Any]) -> str:
    parts = []
    for out in outputs:
        assert out.get("output_type") != "error", f"{out.get('ename')}: {out.get('evalue')}"
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        for mime in out.get("data", {}):
            parts.append(f"<{mime}>")
    return "".join(parts)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.timeout(180)
def test_reproduce_and_prove(tmp_path: Path) -> None:
    out = "\n".join(execute("01_reproduce_and_prove.ipynb", tmp_path))
    assert "buggy      65,514 bytes  ->  ok" in out
    assert "buggy      65,515 bytes  ->  stalled" in out
    assert "fixed   1,048,576 bytes  ->  ok" in out
    assert "[wchan anon_pipe_write]" in out or "[wchan pipe_write]" in out
    assert "write() sizes (4, 65532) = 65,536 bytes" in out and "predicted threshold: 65,514 bytes" in out
    assert "child alive after join: True" in out
    assert "received 1,048,576 bytes, sha256 matches" in out


@pytest.mark.timeout(180)
def test_where_the_stall_begins(tmp_path: Path) -> None:
    outputs = execute("02_where_the_stall_begins.ipynb", tmp_path)
    out = "\n".join(outputs)
    assert "buggy      65,515  stalled" in out and "fixed   1,048,576  ok" in out
    assert "measured 65,514 bytes, predicted 65,514: agree = True" in out
    assert "stall at put 17 (predicted 17)" in out
    assert "as expected: 11 of 11" in out
    # Both figures were displayed inline, and written where the notebook said.
    assert sum("<image/png>" in cell for cell in outputs) == 2
    written = tmp_path / "results" / "notebook"
    assert {"sweep.jsonl", "timeouts.png", "timeouts.svg", "multiput.png"} <= {
        p.name for p in written.iterdir()
    }
