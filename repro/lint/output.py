"""Findings as flake8-style lines, as JSON, or as SARIF 2.1.0 for code-scanning uploads."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from joinstall import __version__
from joinstall.lint import rules
from joinstall.lint.check import Finding

FORMATS = ("text", "json", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_NOT_LINTED = {
    rules.SYNTAX: ("syntax-error", "The file does not parse, so it was not linted."),
    rules.UNREADABLE: ("unreadable", "The file could not be read, so it was not linted."),
}


def render(findings: Sequence[Finding], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([dataclasses.asdict(f) for f in findings], indent=2)
    if fmt == "sarif":
        return json.dumps(sarif(findings), indent=2)
    return "\n".join(f.text() for f in findings)


def _uri(path: str) -> str:
    p = PurePath(path)
    return p.as_uri() if p.is_absolute() else p.as_posix()


def _rule(code: str) -> dict[str, Any]:
    if code in rules.RULES:
        r = rules.RULES[code]
        short = r.page.splitlines()[0]
        return {
            "id": code,
            "name": r.name,
            "shortDescription": {"text": short},
            "fullDescription": {"text": r.page.split("\n\n")[1].strip()},
            "help": {"text": r.page},
            "defaultConfiguration": {"level": "warning"},
        }
    name, text = _NOT_LINTED[code]
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": text},
        "defaultConfiguration": {"level": "error"},
    }


def sarif(findings: Sequence[Finding]) -> dict[str, Any]:
    """One run; every rule is listed, so that an upload also shows what was checked."""
    codes = list(rules.RULES) + sorted({f.code for f in findings} - set(rules.RULES))
    index = {c: i for i, c in enumerate(codes)}
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "warning" if f.code in rules.RULES else "error",
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(f.path)},
                        "region": {"startLine": f.line, "startColumn": f.col},
                    }
                }
            ],
        }
        for f in findings
    ]
    driver = {"name": "joinstall lint", "version": __version__, "rules": [_rule(c) for c in codes]}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }
