"""The engine end to end, with real programs, pipes and process trees."""

from __future__ import annotations

import pytest
from joinstall import harness
from joinstall.observe.verdict import Verdict
from joinstall.records import Mode, RunResult, RunSpec

from tests.integration.helpers import wait_gone

pytestmark = pytest.mark.integration


def run(**fields: object) -> RunResult:
    return harness.run(RunSpec(**fields))  # type: ignore[arg-type]


@pytest.mark.timeout(60)
def test_65514_bytes_is_ok_with_fork() -> None:
    result = run(variant="buggy", size=65514, start_method="fork")
    assert result.verdict is Verdict.OK, result.explanation
    assert result.program_result and result.program_result["sha256_match"]
    assert result.program_result["bytes_received"] == 65514


@pytest.mark.timeout(60)
def test_65515_bytes_is_a_proven_stall_with_fork() -> None:
    result = run(variant="buggy", size=65515, start_method="fork")
    assert result.verdict is Verdict.STALLED, result.explanation
    proof = result.proof
    assert proof is not None, "the stall must be proven from outside, not inferred from a timeout"
    writer = next(t for t in proof.threads if t.wait == "pipe_write")
    assert writer.pid == result.pids["child"] and writer.stuck
    assert writer.syscall == "write" and "pipe_write" in writer.wchan
    assert proof.full_pipe is not None and proof.full_pipe.capacity == 65536
    assert set(proof.stuck_pids) >= {result.pids["parent"], result.pids["child"]}
    # The parent's join(10) is a timed edge: the cycle holds until it ends, not for ever.
    assert proof.until is not None and proof.until <= result.spec.timeout
    # Proven long before the program's own 10 s join timeout could have said anything.
    assert result.timings.verdict_s < result.spec.timeout
    assert result.timings.join_would_return_at == result.spec.timeout
    assert "PARENT: Now joining process" in result.output


@pytest.mark.timeout(60)
def test_fixed_is_ok_at_1mib() -> None:
    result = run(variant="fixed", size=1 << 20)
    assert result.verdict is Verdict.OK, result.explanation
    assert result.proof is None
    assert result.program_result and result.program_result["bytes_received"] == 1 << 20


@pytest.mark.timeout(60)
def test_faithful_mode_really_waits_for_the_timeout() -> None:
    result = run(variant="buggy", size=1 << 20, timeout=1.5, mode=Mode.FAITHFUL)
    assert result.verdict is Verdict.STALLED
    join_s = result.timings.join_s
    # At least T, to the millisecond; the upper bound only rules out a second wait.
    assert join_s is not None and 1.5 <= join_s < 3.0
    assert result.timings.verdict_s >= 1.5
    assert "PARENT: Waited the child for 1.5" in result.output
    assert "PARENT: Child is alive? True" in result.output
    # Once join gave up, the parent read the queue: the whole payload arrived intact.
    assert result.program_result and result.program_result["sha256_match"]
    assert result.proof is not None, "faithful mode keeps the proof it saw on the way"


@pytest.mark.timeout(60)
def test_result_round_trips_through_json() -> None:
    result = run(variant="buggy", size=100_000)
    assert result.proof is not None
    assert RunResult.from_dict(result.to_dict()) == result


@pytest.mark.timeout(60)
def test_no_process_is_left_after_a_stalled_run() -> None:
    result = run(variant="buggy", size=1 << 20)
    assert result.verdict is Verdict.STALLED
    assert wait_gone(list(result.pids.values()), timeout=0.5) == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_every_start_method_stalls_the_same_way(method: str) -> None:
    result = run(variant="buggy", size=65515, start_method=method)
    assert result.verdict is Verdict.STALLED and result.proof is not None
    assert result.program_result is None  # fast mode stopped the run at proof
