"""One file: read, parse once, walk once, apply ``# noqa`` and the selection.

A file whose text cannot hold a finding (no queue and join, no Popen and wait, no
``cancel_join_thread``) is parsed, so that a syntax error is still reported, and not walked.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
import warnings
from pathlib import Path

from joinstall.lint import rules
from joinstall.lint.walker import FileWalker

#: flake8's form: a bare ``noqa`` comment silences every code on its line; ``noqa: JS101,JS102`` those.
NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Finding:
    path: str
    line: int
    #: 1-based, as flake8 prints it.
    col: int
    code: str
    message: str

    def text(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"


@dataclasses.dataclass(frozen=True)
class Selection:
    """Codes to report, by prefix (``JS1`` is every JS1xx), as flake8's --select/--ignore."""

    select: tuple[str, ...] = ("JS",)
    ignore: tuple[str, ...] = ()

    def __call__(self, code: str) -> bool:
        if code in (rules.SYNTAX, rules.UNREADABLE):
            return True
        return code.startswith(self.select) and not code.startswith(self.ignore)


ALL = Selection()


def may_hold_findings(source: bytes | str) -> bool:
    """A cheap look at the text: can any rule fire in it at all?"""
    b = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
    if b"cancel_join_thread" in b:
        return True
    if b"Popen" in b and b".wait(" in b:
        return True
    return b"Queue" in b and b".get" in b and (b"Process" in b or b"Pool" in b or b"Executor" in b)


def _decode(source: bytes) -> str:
    try:
        return source.decode("utf-8")
    except UnicodeDecodeError:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        return source.decode(encoding, errors="replace")


def _suppressed(line: str, code: str) -> bool:
    match = NOQA.search(line)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    return code.upper().startswith(tuple(c.upper() for c in re.split(r"[,\s]+", codes) if c))


def analyse(tree: ast.AST, lines: list[str] | None) -> list[tuple[int, int, str, str]]:
    """(line, 0-based col, code, message) for every rule that fires in ``tree``; no noqa."""
    out = []
    for hit in FileWalker(lines).run(tree):
        out.append((hit.line, hit.col, hit.code, rules.message(hit.code, hit.names)))
    return sorted(set(out))


def lint_source(source: bytes | str, path: str = "-", select: Selection = ALL) -> list[Finding]:
    """Every finding in one file's source, in line order; a syntax error is one finding."""
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences in the linted code are its own business, not ours.
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        detail = f"{type(exc).__name__}: {exc.msg}; not linted"
        return [Finding(path, exc.lineno or 1, (exc.offset or 1), rules.SYNTAX, detail)]
    except (ValueError, RecursionError) as exc:  # null bytes; nesting deeper than the parser goes
        return [Finding(path, 1, 1, rules.SYNTAX, f"cannot parse: {exc}; not linted")]
    if not may_hold_findings(source):
        return []
    text = _decode(source) if isinstance(source, bytes) else source
    lines = text.splitlines(keepends=True)
    try:
        found = analyse(tree, lines)
    except RecursionError:
        return [Finding(path, 1, 1, rules.SYNTAX, "cannot lint: nested too deeply to walk; not linted")]
    findings = []
    for line, col, code, message in found:
        if not select(code):
            continue
        if 0 < line <= len(lines) and _suppressed(lines[line - 1], code):
            continue
        findings.append(Finding(path, line, col + 1, code, message))
    return findings


def lint_file(path: str, select: Selection = ALL) -> list[Finding]:
    """Read and lint one file; a file that cannot be read is one finding, never an exception."""
    try:
        source = Path(path).read_bytes()
    except OSError as exc:
        return [Finding(path, 1, 1, rules.UNREADABLE, f"cannot read: {exc.strerror or exc}")]
    return lint_source(source, path, select)
