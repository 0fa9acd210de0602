"""List the program variants: what each changes, what to expect, and why."""

from __future__ import annotations

import argparse
import textwrap

from joinstall.variants import REGISTRY

NAME = "variants"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="show only this variant")


def run(args: argparse.Namespace) -> int:
    from joinstall.variants import get

    chosen = [get(args.name)] if args.name else list(REGISTRY.values())
    for v in chosen:
        print(f"{v.name}  [{v.kind.value}]  {v.changes}")
        print(textwrap.indent(textwrap.fill(v.explanation, 88), "    "))
        print()
    return 0
