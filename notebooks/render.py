"""Execute the teaching notebooks top to bottom and store them with their outputs.

    .venv/bin/python notebooks/render.py                 # every notebook
    .venv/bin/python notebooks/render.py 02_*.ipynb      # some of them

Each runs in a fresh ``python3`` kernel whose working folder is a new temporary one. The stored
outputs are what a student reads without running anything; the exercise cells keep their
``None`` placeholders, so the stored check cells say "not answered yet".
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def render(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as cwd:
        client = NotebookClient(
            nb,
            timeout=120,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": cwd}},
        )
        client.execute()
    seconds = time.monotonic() - start
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return seconds


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.name for p in HERE.glob("[0-9]*.ipynb"))
    for name in names:
        print(f"{name}: {render(HERE / Path(name).name):.1f} s")
