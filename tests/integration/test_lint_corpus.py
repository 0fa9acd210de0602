"""The lint corpus's labels, measured: every hang is proven by the engine, every loss loses data,
every near miss finishes. So precision and recall (``make bench``) rest on runs, not guesses.

Programs of one label run a few at a time; each runs in a session of its own that is killed and
reaped whatever happens.
"""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from joinstall.engine import diagnose
from joinstall.errors import JoinstallError

from tests.integration.helpers import kill_session
from tests.lint_corpus import score

pytestmark = pytest.mark.integration

#: Seconds a hang has to be proven in, and a finishing program to finish in.
PROVE_WITHIN = 10.0
FINISH_WITHIN = 15.0
#: Programs run at once: enough to overlap their start-up, few enough for two cores.
AT_ONCE = 4


def _start(path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def _reap(proc: subprocess.Popen[bytes]) -> None:
    kill_session(proc.pid)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()


def proven_hang(path: Path) -> str | None:
    """None when the engine proves the program hung; else what happened instead."""
    proc = _start(path)
    try:
        deadline = time.monotonic() + PROVE_WITHIN
        verdict = "nothing sampled"
        while time.monotonic() < deadline:
            try:
                d = diagnose(proc.pid, budget=1.0, stacks=False)
            except JoinstallError as exc:  # it exited: not a hang
                return f"exited ({proc.poll()}): {exc}"
            if d.proven:
                return None
            verdict = f"{d.verdict.value}: {d.summary}"
        return f"not proven in {PROVE_WITHIN:g} s ({verdict})"
    finally:
        _reap(proc)


def exits_with(code: int) -> Callable[[Path], str | None]:
    def check(path: Path) -> str | None:
        proc = _start(path)
        try:
            _, err = proc.communicate(timeout=FINISH_WITHIN)
        except subprocess.TimeoutExpired:
            return f"still running after {FINISH_WITHIN:g} s"
        finally:
            _reap(proc)
        return None if proc.returncode == code else f"exit {proc.returncode}, not {code}: {err[-300:]!r}"

    return check


def failures(label: str, check: Callable[[Path], str | None]) -> list[str]:
    paths = score.programs(label)
    assert paths, f"no {label} programs in the corpus"
    with concurrent.futures.ThreadPoolExecutor(AT_ONCE) as pool:
        results = list(pool.map(check, paths))
    return [f"{p.name}: {r}" for p, r in zip(paths, results, strict=True) if r is not None]


@pytest.mark.timeout(60)
def test_every_hang_program_is_proven_hung_by_the_engine() -> None:
    assert failures("hang", proven_hang) == []


@pytest.mark.timeout(60)
def test_every_loss_program_loses_data() -> None:
    # The programs exit 3 when what arrived is shorter than what the child sent.
    assert failures("loss", exits_with(3)) == []


@pytest.mark.timeout(60)
def test_every_fine_program_finishes_cleanly() -> None:
    assert failures("fine", exits_with(0)) == []
