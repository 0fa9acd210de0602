"""Every registered variant reaches its expected verdict, far below and far above the pipe size."""

from __future__ import annotations

import sys

import pytest
from joinstall import harness
from joinstall.engine.words import FIX_POPEN
from joinstall.model import pipemodel
from joinstall.observe.verdict import Verdict
from joinstall.records import RunSpec
from joinstall.variants import REGISTRY, Kind

pytestmark = pytest.mark.integration


@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", [1024, 1 << 20], ids=["1KiB", "1MiB"])
@pytest.mark.parametrize("name", list(REGISTRY))
def test_variant_reaches_its_expected_verdict(name: str, size: int) -> None:
    variant = REGISTRY[name]
    # Far from both sizes, so the model's threshold for a single message is all we need.
    stall_above = (
        None
        if variant.pipe_bytes is None
        else pipemodel.predict_threshold(sys.executable, variant.pipe_bytes)
    )
    result = harness.run(RunSpec(variant=name, size=size))
    assert result.verdict in variant.expected(size, stall_above), result.explanation
    if result.verdict is Verdict.OK:
        assert result.program_result and result.program_result["sha256_match"]


@pytest.mark.timeout(60)
def test_cancel_join_thread_loses_a_large_payload_every_time() -> None:
    for _ in range(3):
        result = harness.run(RunSpec(variant="cancel_join_thread", size=1 << 20))
        assert result.verdict is Verdict.DATA_LOSS, result.explanation
        assert result.program_result and result.program_result["child_alive_after_join"] is False
        assert "data loss" in result.explanation


@pytest.mark.timeout(60)
def test_simplequeue_stalls_inside_put_in_the_main_thread() -> None:
    result = harness.run(RunSpec(variant="simplequeue", size=1 << 20))
    assert result.verdict is Verdict.STALLED and result.proof is not None
    writer = next(t for t in result.proof.threads if t.wait == "pipe_write")
    assert writer.tid == writer.pid == result.pids["child"]


@pytest.mark.timeout(60)
def test_popen_wait_stalls_in_the_shell_pipeline_not_in_the_queue() -> None:
    result = harness.run(RunSpec(variant="popen_wait", size=1 << 20))
    assert result.verdict is Verdict.STALLED and result.proof is not None
    writer = next(t for t in result.proof.threads if t.wait == "pipe_write" and t.stuck)
    assert writer.pid not in result.pids.values(), "the writer is `head`, a grandchild"
    assert f"only child {result.pids['child']} holds its read end" in "\n".join(result.proof.cycle)
    assert result.proof.fix == FIX_POPEN


@pytest.mark.timeout(60)
def test_bigpipe_moves_the_threshold_but_keeps_the_bug() -> None:
    above_default = harness.run(RunSpec(variant="bigpipe", size=256 * 1024))
    assert above_default.verdict is Verdict.OK
    at_1mib = harness.run(RunSpec(variant="bigpipe", size=1 << 20))
    assert at_1mib.verdict is Verdict.STALLED and at_1mib.proof is not None
    assert at_1mib.proof.full_pipe is not None and at_1mib.proof.full_pipe.capacity == 1 << 20


def test_every_kind_has_a_member() -> None:
    assert {v.kind for v in REGISTRY.values()} == set(Kind)


@pytest.mark.timeout(60)
def test_a_false_fix_is_never_reported_as_plainly_ok() -> None:
    for _ in range(3):
        result = harness.run(RunSpec(variant="cancel_join_thread", size=1024))
        if result.verdict is Verdict.OK:
            assert result.explanation.startswith("ok this time, by luck"), result.explanation
            assert "false fix" in result.explanation
        else:
            assert result.verdict is Verdict.DATA_LOSS, result.explanation
