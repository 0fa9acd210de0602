"""Loading results files into typed records, the variants-by-outcome table, and the report text.

Pure: the files are written by hand here (no Writer, which probes an interpreter), and the
RunResult records are built from the real dataclasses, so a change of their JSON shape shows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from analysis import outcomes, report, results
from analysis.results import Diagnosis, Results
from repro.errors import ResultsError
from repro.records import Mode, RunResult, RunSpec, Timings
from repro.verdict import Holder, StallEvidence, Verdict

META = {"kind": "meta", "schema": 1, "pipe_capacity": 65536, "page_size": 4096, "created": "t", "config": {}}


def evidence(capacity: int = 65536) -> StallEvidence:
    return StallEvidence(
        writer_pid=11, writer_tid=12, syscall="write", wchan="anon_pipe_write", requested_bytes=65533,
        pipe_inode=99, fill=61444, capacity=capacity, window_s=0.02, samples=3,
        readers=(Holder(10, "python", 3, ("main thread in poll",)),),
        writers=(Holder(11, "python", 4, ("thread 12 in write",)),),
    )  # fmt: skip


def run_result(
    variant: str = "buggy", size: int = 65515, verdict: Verdict = Verdict.STALLED, mode: Mode = Mode.FAST,
    join_s: float | None = None, puts: int = 1, diagnosis: dict[str, Any] | None = None,
) -> RunResult:  # fmt: skip
    fast_stall = verdict is Verdict.STALLED and mode is Mode.FAST
    return RunResult(
        spec=RunSpec(variant=variant, size=size, timeout=2.0, mode=mode, puts=puts),
        python_version="3.11.7",
        verdict=verdict,
        explanation="...",
        evidence=evidence() if verdict is Verdict.STALLED else None,
        program_result=None if fast_stall else {"pipe_capacity": 65536, "join_seconds": join_s},
        timings=Timings(0.08, 0.09, None if fast_stall else join_s, 2.0 if fast_stall else None),
        pids={"parent": 10, "child": 11},
        output=(),
        stderr="",
        exit_code=None if fast_stall else 0,
        diagnosis=diagnosis,
    )


def run_line(result: RunResult) -> dict[str, Any]:
    return {"kind": "run", "key": f"{result.spec.variant}:{result.spec.size}", "result": result.to_dict()}


def threshold_line(capacity: int = 65536, measured: int = 65514, predicted: int = 65514) -> dict[str, Any]:
    return {
        "kind": "threshold", "python": "/usr/bin/python3", "python_version": "3.11.7", "start_method": "fork",
        "pipe_size": capacity, "capacity": capacity, "puts": 1, "measured": measured, "predicted": predicted,
        "agree": measured == predicted, "probes": 2, "seconds": 0.8,
    }  # fmt: skip


def write(path: Path, records: Sequence[Mapping[str, Any]], meta: Mapping[str, Any] = META) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in [meta, *records]))
    return path


def test_a_real_run_result_round_trips_into_a_typed_record(tmp_path: Path) -> None:
    fast = run_result("buggy", 1048576)
    faithful = run_result("buggy", 1048576, mode=Mode.FAITHFUL, join_s=2.003)
    ok = run_result("fixed", 1048576, Verdict.OK, join_s=0.004)
    loaded = results.load([write(tmp_path / "r.jsonl", [run_line(fast), run_line(faithful), run_line(ok)])])
    a, b, c = loaded.runs
    assert (a.variant, a.size, a.mode, a.verdict, a.capacity) == (
        "buggy",
        1048576,
        "fast",
        Verdict.STALLED,
        65536,
    )
    assert a.proven_only and a.join_returns_at == 2.0 and a.join_s is None
    assert not b.proven_only and b.join_returns_at == 2.003 and b.mode == "faithful"
    assert c.verdict is Verdict.OK and c.join_returns_at == 0.004 and c.capacity == 65536


def test_every_record_kind_is_loaded_and_unknown_kinds_are_skipped(tmp_path: Path) -> None:
    spy = {"kind": "spy", "diagnosis": {"text": "cycle", "cycle": ["a", "b"], "stacks": {"10": "frames"}}}
    multi = {"kind": "multiput", "variant": "fixed", "message_size": 2100, "capacity": 65536, "agree": True,
             "measured_puts": None, "predicted_puts": None, "puts_tried": [1, 8, 32]}  # fmt: skip
    recs = [threshold_line(), {**threshold_line(), "kind": "matrix"}, multi, spy, {"kind": "someday", "x": 1}]
    loaded = results.load([write(tmp_path / "r.jsonl", recs)])
    assert loaded.thresholds[0].measured == 65514 and loaded.thresholds[0].agree
    assert loaded.matrix[0].python_version == "3.11.7"
    m = loaded.multiputs[0]
    assert (m.variant, m.measured_puts, m.agree, m.exact, m.most_tried) == ("fixed", None, True, True, 32)
    assert loaded.diagnoses == (Diagnosis("cycle", ("a", "b"), {"10": "frames"}),)
    assert not loaded.empty


def test_optional_fields_may_be_missing(tmp_path: Path) -> None:
    bare = {"kind": "threshold", "capacity": 4096, "measured": 4074, "predicted": 4070}
    loaded = results.load(
        [write(tmp_path / "r.jsonl", [bare, {"kind": "multiput", "message_size": 1, "capacity": 2}])]
    )
    t = loaded.thresholds[0]
    assert (t.puts, t.start_method, t.probes, t.agree) == (1, "default", None, False)
    assert loaded.multiputs[0].agree is None and loaded.multiputs[0].variant == "buggy"


def test_several_files_are_pooled_in_order(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", [run_line(run_result("buggy"))])
    b = write(tmp_path / "b.jsonl", [run_line(run_result("fixed", verdict=Verdict.OK, join_s=0.01))])
    loaded = results.load([a, b])
    assert [r.variant for r in loaded.runs] == ["buggy", "fixed"] and loaded.sources == (a, b)


def test_a_torn_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [threshold_line()])
    with path.open("a") as f:
        f.write('{"kind": "thresh')
    loaded = results.load([path])
    assert loaded.torn == (path,) and len(loaded.thresholds) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("size,verdict\n65515,stalled\n", "not a joinstall results file"),
        ('{"kind": "run", "key": "x"}\n', "not a joinstall results file"),
    ],
    ids=["missing", "empty", "csv", "json-without-meta"],
)
def test_bad_files_are_one_line_results_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "r.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ResultsError, match=message) as err:
        results.load([path])
    assert "\n" not in str(err.value)


def test_a_malformed_record_names_its_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [threshold_line(), {"kind": "run", "result": {"verdict": "ok"}}])
    with pytest.raises(ResultsError, match=r"r\.jsonl:3: a malformed run record \(field 'spec'\)"):
        results.load([path])


def test_a_record_that_is_not_an_object_is_foreign(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [threshold_line()])
    with path.open("a") as f:
        f.write("[1, 2]\n")
    with pytest.raises(
        ResultsError, match=r"r\.jsonl:3 is not a JSON object; this is not a joinstall results"
    ):
        results.load([path])


def test_a_bad_verdict_is_a_malformed_record(tmp_path: Path) -> None:
    line = run_line(run_result())
    line["result"]["verdict"] = "exploded"
    with pytest.raises(ResultsError, match=r":2: a malformed run record"):
        results.load([write(tmp_path / "r.jsonl", [line])])


def test_no_files_at_all_is_an_error() -> None:
    with pytest.raises(ResultsError, match="no results files given"):
        results.load([])


# --- variants by outcome --------------------------------------------------------------------


def records(tmp_path: Path, *runs: RunResult, thresholds: tuple[dict[str, Any], ...] = ()) -> Results:
    return results.load([write(tmp_path / "r.jsonl", [*map(run_line, runs), *thresholds])])


def test_outcomes_count_verdicts_and_check_them_against_the_measured_threshold(tmp_path: Path) -> None:
    loaded = records(
        tmp_path,
        run_result("buggy", 65514, Verdict.OK, join_s=0.01),
        run_result("buggy", 65515),
        # Wrong on purpose: a stall below the threshold is not what the registry expects.
        run_result("buggy", 1000),
        run_result("fixed", 1 << 20, Verdict.OK, join_s=0.01),
        run_result("cancel_join_thread", 1 << 20, Verdict.DATA_LOSS, join_s=0.01),
        thresholds=(threshold_line(),),
    )
    rows = {r.variant: r for r in outcomes.outcomes(loaded)}
    assert list(rows) == ["buggy", "fixed", "cancel_join_thread"]
    buggy = rows["buggy"]
    assert (buggy.counts[Verdict.OK], buggy.counts[Verdict.STALLED], buggy.runs) == (1, 2, 3)
    assert (buggy.as_expected, buggy.unexpected, buggy.unchecked) == (2, 1, 0)
    assert rows["fixed"].as_expected == 1 and rows["fixed"].kind == "fix"
    assert rows["cancel_join_thread"].as_expected == 1 and rows["cancel_join_thread"].kind == "false fix"


def test_without_a_threshold_a_bug_run_is_unchecked_but_a_fix_is_still_checked(tmp_path: Path) -> None:
    rows = outcomes.outcomes(
        records(tmp_path, run_result("buggy", 65515), run_result("fixed", 100, Verdict.STALLED))
    )
    buggy, fixed = rows
    assert (buggy.as_expected, buggy.unchecked) == (0, 1)
    # A stalled fix is wrong whatever the threshold is.
    assert (fixed.as_expected, fixed.unexpected, fixed.unchecked) == (0, 1, 0)


def test_a_variant_without_a_queue_pipe_cannot_stall(tmp_path: Path) -> None:
    (row,) = outcomes.outcomes(records(tmp_path, run_result("manager", 1 << 20, Verdict.OK, join_s=0.01)))
    assert (row.as_expected, row.unchecked) == (1, 0)


def test_multi_message_runs_are_counted_but_unchecked(tmp_path: Path) -> None:
    (row,) = outcomes.outcomes(
        records(tmp_path, run_result("buggy", 40000, puts=17), thresholds=(threshold_line(),))
    )
    assert (row.runs, row.unchecked) == (1, 1)


# --- the report text ------------------------------------------------------------------------


def test_the_report_says_when_there_is_no_py_spy_diagnosis(tmp_path: Path) -> None:
    text = report.render(records(tmp_path, run_result()), {}, None, [])
    assert "No py-spy diagnosis in these results" in text
    assert "| buggy | bug |" in text


def test_the_report_renders_a_wait_for_cycle_and_py_spy_stacks(tmp_path: Path) -> None:
    edge = {"kind": "writes", "from": {"pid": 11, "tid": 12}, "to": {"pipe": 99}, "basis": "write()",
            "confirmed": True}  # fmt: skip
    inferred = {"kind": "waits_exit", "from": {"pid": 10, "tid": 10}, "to": {"pid": 11, "tid": 11},
                "basis": "poll on the sentinel", "confirmed": False}  # fmt: skip
    threads = [{"thread_name": "QueueFeederThread", "os_thread_id": 12, "frames": [
        {"name": "_send_bytes", "short_filename": "connection.py", "line": 411},
        {"name": "_feed", "short_filename": "queues.py", "line": 251},
    ]}]  # fmt: skip
    diag = {"text": "parent waits for child; child waits for feeder", "cycle": [edge, inferred],
            "stacks": {"11": json.dumps(threads), "10": "plain text stack"}}  # fmt: skip
    text = report.render(records(tmp_path, run_result(diagnosis=diag)), {}, None, [])
    assert "parent waits for child; child waits for feeder" in text
    assert "1. process 11 thread 12 is blocked writing into pipe:[99]: write()" in text
    assert (
        "2. process 10 thread 10 waits for the exit of process 11 thread 11: poll on the sentinel (inferred"
        in text
    )
    assert (
        "QueueFeederThread (tid 12)\n    _send_bytes (connection.py:411)\n    _feed (queues.py:251)" in text
    )
    assert "**Process 10**" in text and "plain text stack" in text


def test_the_headline_quotes_the_measured_threshold_at_the_default_capacity(tmp_path: Path) -> None:
    loaded = records(tmp_path, run_result(), thresholds=(threshold_line(4096, 4074, 4074), threshold_line()))
    text = report.render(loaded, {}, None, [])
    assert "up to 65,514 payload bytes passes and 65,515 bytes stall" in text
