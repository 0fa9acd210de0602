"""List the program variants: what each changes, what to expect, and why."""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap

from joinstall.variants import REGISTRY, get

NAME = "variants"
#: Never wider than this, however wide the terminal: long lines are hard to read.
MAX_WIDTH = 100


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="show only this variant")
    p.add_argument("--json", action="store_true", help="print the variants as JSON")


def run(args: argparse.Namespace) -> int:
    chosen = [get(args.name)] if args.name else list(REGISTRY.values())
    if args.json:
        rows = [
            {"name": v.name, "kind": v.kind.value, "changes": v.changes, "explanation": v.explanation}
            for v in chosen
        ]
        print(json.dumps(rows, indent=2))
        return 0
    # Piped, the terminal size falls back to 80 columns: logs stay readable too.
    width = min(MAX_WIDTH, shutil.get_terminal_size().columns)
    for v in chosen:
        print(textwrap.fill(f"{v.name}  [{v.kind.value}]  {v.changes}", width, subsequent_indent="    "))
        print(textwrap.fill(v.explanation, width, initial_indent="    ", subsequent_indent="    "))
        print()
    return 0
