"""The lint's labelled corpus, and its precision and recall on it.

``hang/`` holds programs that hang (proven by the engine in tests/integration/test_lint_corpus.py),
``loss/`` programs that lose data (they exit 3 when they do), ``fine/`` near misses that finish.
A line the lint must flag carries ``# expect: JS101`` (the code); every other finding is a false
alarm. Scores are counted per finding and per program.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from joinstall.lint.check import lint_file

ROOT = Path(__file__).resolve().parent
LABELS = ("hang", "loss", "fine")
EXPECT = re.compile(r"#.*\bexpect: (JS\d{3})")


def programs(label: str | None = None) -> list[Path]:
    return sorted(p for lab in LABELS if label in (None, lab) for p in (ROOT / lab).glob("*.py"))


def expected(path: Path) -> set[tuple[int, str]]:
    """(line, code) of every finding the program is labelled with."""
    out = set()
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = EXPECT.search(line)
        if m:
            out.add((n, m.group(1)))
    return out


def found(path: Path) -> set[tuple[int, str]]:
    return {(f.line, f.code) for f in lint_file(str(path))}


@dataclasses.dataclass(frozen=True)
class Score:
    true_pos: int
    false_pos: int
    false_neg: int
    #: Programs: a hang or loss program flagged at all; a fine program flagged at all.
    bad_flagged: int
    bad_total: int
    fine_flagged: int
    fine_total: int
    misses: tuple[str, ...]
    false_alarms: tuple[str, ...]

    @property
    def precision(self) -> float:
        return self.true_pos / ((self.true_pos + self.false_pos) or 1)

    @property
    def recall(self) -> float:
        return self.true_pos / ((self.true_pos + self.false_neg) or 1)

    @property
    def program_precision(self) -> float:
        return self.bad_flagged / ((self.bad_flagged + self.fine_flagged) or 1)

    @property
    def program_recall(self) -> float:
        return self.bad_flagged / (self.bad_total or 1)


def score() -> Score:
    tp = fp = fn = bad_flagged = bad_total = fine_flagged = fine_total = 0
    misses: list[str] = []
    alarms: list[str] = []
    for path in programs():
        want, got = expected(path), found(path)
        name = f"{path.parent.name}/{path.name}"
        tp += len(want & got)
        fp += len(got - want)
        fn += len(want - got)
        misses += [f"{name}:{line} {code}" for line, code in sorted(want - got)]
        alarms += [f"{name}:{line} {code}" for line, code in sorted(got - want)]
        if path.parent.name == "fine":
            fine_total += 1
            fine_flagged += bool(got)
        else:
            bad_total += 1
            bad_flagged += bool(got & want)
    return Score(tp, fp, fn, bad_flagged, bad_total, fine_flagged, fine_total, tuple(misses), tuple(alarms))
