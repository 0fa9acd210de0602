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
from joinstall.analysis import outcomes, registry, report, results
from joinstall.analysis.records import Results
from joinstall.analysis.series import timeouts
from joinstall.engine.diagnosis import Diagnosis, PipeInfo
from joinstall.engine.diagnosis import Verdict as Hang
from joinstall.errors import ResultsError
from joinstall.observe.verdict import Verdict
from joinstall.records import SCHEMA, Mode, RunResult, RunSpec, Timings
from joinstall.spy import stacks as spy_stacks
from joinstall.variants import FIX_ADVICE

META = {
    "kind": "meta",
    "schema": SCHEMA,
    "pipe_capacity": 65536,
    "page_size": 4096,
    "created": "t",
    "config": {},
}
#: py-spy dumps recorded from a real hung tree (buggy, 1 MiB, CPython 3.11, fork).
SPY_RECORDING = Path(__file__).parent.parent / "fixtures" / "spy" / "py311_fork_buggy.json"
#: The engine's words for that tree's cycle, as ``joinstall.spy`` writes them into ``cycle_text``.
CYCLE = (
    "parent 19012 (MainThread) waits for child 19024 to exit → child 19024 (MainThread) waits for its"
    " QueueFeederThread → QueueFeederThread is blocked writing 1,048,585 bytes into pipe:[109547], full at"
    " 61,453/65,536 → only parent 19012 can read that pipe (child 19024 holds the read end too, but none of"
    " its threads reads it), and it is waiting in join()."
)


def proof(capacity: int = 65536, stacks: Mapping[str, str] | None = None) -> Diagnosis:
    """The engine's proof of a stall, as a run record carries it."""
    pipe = PipeInfo(99, 61444, capacity)
    return Diagnosis(
        verdict=Hang.STALLED, root=10, summary="3 threads in 2 processes wait for each other",
        cycle=(CYCLE,), behind=(), breaker="", until=2.0, fix=FIX_ADVICE, threads=(), pipes=(pipe,),
        stuck_pids=(10, 11), samples=2, seconds=0.03, stacks=dict(stacks or {}), full_pipe=pipe,
    )  # fmt: skip


def run_result(
    variant: str = "buggy", size: int = 65515, verdict: Verdict = Verdict.STALLED, mode: Mode = Mode.FAST,
    join_s: float | None = None, puts: int = 1, stacks: Mapping[str, str] | None = None,
) -> RunResult:  # fmt: skip
    fast_stall = verdict is Verdict.STALLED and mode is Mode.FAST
    return RunResult(
        spec=RunSpec(variant=variant, size=size, timeout=2.0, mode=mode, puts=puts),
        python_version="3.11.7",
        verdict=verdict,
        explanation="...",
        proof=proof(stacks=stacks) if verdict is Verdict.STALLED else None,
        program_result=None if fast_stall else {"pipe_capacity": 65536, "join_seconds": join_s},
        timings=Timings(0.08, 0.09, None if fast_stall else join_s, 2.0 if fast_stall else None),
        pids={"parent": 10, "child": 11},
        output=(),
        stderr="",
        exit_code=None if fast_stall else 0,
    )


def run_line(result: RunResult) -> dict[str, Any]:
    return {"kind": "run", "key": f"{result.spec.variant}:{result.spec.size}", "result": result.to_dict()}


def threshold_line(capacity: int = 65536, measured: int = 65514, predicted: int = 65514) -> dict[str, Any]:
    return {
        "kind": "threshold", "python": "/usr/bin/python3", "python_version": "3.11.7", "start_method": "fork",
        "pipe_size": capacity, "capacity": capacity, "puts": 1, "measured": measured, "predicted": predicted,
        "agree": measured == predicted, "probes": 2, "seconds": 0.8,
    }  # fmt: skip


def recorded_stacks() -> dict[str, str]:
    """py-spy's stacks of a real hung tree, rendered as the engine keeps them (one text per pid)."""
    recording = json.loads(SPY_RECORDING.read_text())
    return {
        pid: spy_stacks.render(spy_stacks.parse(json.dumps(dump))) for pid, dump in recording["dumps"].items()
    }


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
    diagnosis = proof(stacks=recorded_stacks())
    spy = {"kind": "spy", "diagnosis": diagnosis.to_dict()}
    multi = {"kind": "multiput", "variant": "fixed", "message_size": 2100, "capacity": 65536, "agree": True,
             "measured_puts": None, "predicted_puts": None, "exact": True, "probes": 3, "seconds": 0.3,
             "python": "/usr/bin/python3", "python_version": "3.11.7", "start_method": None, "pipe_size": 0,
             "puts_tried": [1, 8, 32]}  # fmt: skip
    recs = [threshold_line(), {**threshold_line(), "kind": "matrix"}, multi, spy, {"kind": "someday", "x": 1}]
    loaded = results.load([write(tmp_path / "r.jsonl", recs)])
    assert loaded.thresholds[0].measured == 65514 and loaded.thresholds[0].agree
    assert loaded.matrix[0].python_version == "3.11.7"
    m = loaded.multiputs[0]
    assert (m.variant, m.measured_puts, m.agree, m.exact, m.most_tried) == ("fixed", None, True, True, 32)
    # The spy line is the engine's typed diagnosis, read back whole.
    assert loaded.diagnoses == (diagnosis,)
    assert not loaded.empty


def test_an_untyped_diagnosis_of_an_older_tool_is_a_clear_error(tmp_path: Path) -> None:
    old = {"kind": "spy", "diagnosis": {"text": "WAIT-FOR CYCLE ...", "cycle_text": CYCLE, "stacks": {}}}
    with pytest.raises(ResultsError, match=r"r.jsonl:2: a malformed spy record"):
        results.load([write(tmp_path / "r.jsonl", [old])])


@pytest.mark.parametrize("kind", ["threshold", "multiput"])
def test_a_record_without_its_fields_is_refused_not_guessed(tmp_path: Path, kind: str) -> None:
    # One shape per kind: the reader uses the writers' own dataclass, with no fallbacks.
    bare = {"kind": kind, "capacity": 4096, "measured": 4074, "predicted": 4070, "message_size": 1}
    with pytest.raises(
        ResultsError, match=rf"r\.jsonl:2: a malformed {kind} record \(a {kind} record without"
    ):
        results.load([write(tmp_path / "r.jsonl", [bare])])


def test_a_file_of_an_older_schema_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({**META, "schema": SCHEMA - 1, "tool_version": "0.0.9"}) + "\n")
    with pytest.raises(ResultsError, match=f"written by joinstall 0.0.9 in results schema {SCHEMA - 1}"):
        results.load([path])


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
    path = write(
        tmp_path / "r.jsonl", [threshold_line(), {"kind": "run", "key": "k", "result": {"verdict": "ok"}}]
    )
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


def records(
    tmp_path: Path,
    *runs: RunResult,
    thresholds: tuple[dict[str, Any], ...] = (),
    spy: Diagnosis | None = None,
) -> Results:
    """Results of these runs, thresholds and (``spy``) a spy record of a diagnosis."""
    extra = [{"kind": "spy", "diagnosis": spy.to_dict()}] if spy else []
    return results.load([write(tmp_path / "r.jsonl", [*map(run_line, runs), *thresholds, *extra])])


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


def test_a_false_fix_that_ended_ok_is_luck_counted_apart_from_the_fixes(tmp_path: Path) -> None:
    loaded = records(
        tmp_path,
        # Below the threshold the message usually escapes before the child exits: a race, won.
        run_result("cancel_join_thread", 1024, Verdict.OK, join_s=0.01),
        run_result("cancel_join_thread", 1 << 20, Verdict.DATA_LOSS, join_s=0.01),
        run_result("cancel_join_thread", 40000, Verdict.OK, join_s=0.01, puts=17),
        run_result("fixed", 1024, Verdict.OK, join_s=0.01),
        thresholds=(threshold_line(),),
    )
    rows = {r.variant: r for r in outcomes.outcomes(loaded)}
    false_fix = rows["cancel_join_thread"]
    assert (false_fix.runs, false_fix.by_luck, false_fix.as_expected, false_fix.unexpected) == (3, 2, 1, 0)
    assert (false_fix.checked, false_fix.unchecked) == (1, 0)
    assert (rows["fixed"].by_luck, rows["fixed"].as_expected) == (0, 1)
    text = report.render(loaded, {}, timeouts.compute(loaded), [])
    assert (
        "| cancel_join_thread | false fix | data loss above the threshold; below it a race: data loss, or ok"
        f" by luck | 3 | 2 by luck | 0 | 1 | 0 | 1 of 1; **2 {registry.OK_BY_LUCK}**, not counted |" in text
    )
    assert "**Ok by luck is not fixed.** cancel_join_thread ended ok in 2 runs only" in text
    # The figure's text names the single-message one, drawn apart from the real fixes.
    assert f"ended ok (1): {registry.OK_BY_LUCK}" in text
    assert "| fixed | fix | ok at every size | 1 | 1 | 0 | 0 | 0 | 1 of 1 |" in text


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


def test_the_report_shows_the_proof_a_run_carries_with_its_stacks(tmp_path: Path) -> None:
    stacks = recorded_stacks()
    run = run_result(stacks=stacks)
    assert run.proof is not None
    text = report.render(records(tmp_path, run), {}, None, [])
    assert f"```text\n{run.proof.text()}\n```" in text
    assert "QueueFeederThread (tid 19029" in text and "Queue._feed (" in text


def _squeezed(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("where", ["run", "spy"])
def test_the_report_says_the_cycle_once(tmp_path: Path, where: str) -> None:
    # The engine's text walks through the cycle (wrapped to 100 columns); no second copy of it.
    diagnosis = proof(stacks=recorded_stacks())
    loaded = (
        records(tmp_path, run_result(stacks=diagnosis.stacks))
        if where == "run"
        else records(tmp_path, run_result(), spy=diagnosis)
    )
    text = report.render(loaded, {}, None, [])
    assert _squeezed(text).count(_squeezed(CYCLE)) == 1


def test_no_block_of_the_report_is_repeated(tmp_path: Path) -> None:
    stacks = recorded_stacks()
    loaded = records(
        tmp_path,
        run_result(stacks=stacks), run_result("fixed", 1 << 20, Verdict.OK, Mode.FAITHFUL, 0.01),
        run_result("cancel_join_thread", 1024, Verdict.OK, Mode.FAITHFUL, 0.01),
        thresholds=(threshold_line(4096, 4074, 4074), threshold_line()),
        spy=proof(stacks=stacks),
    )  # fmt: skip
    blocks = [b.strip() for b in report.render(loaded, {}, None, ["a note"]).split("\n\n") if b.strip()]
    repeated = {b for b in blocks if blocks.count(b) > 1 and b != "(figure not drawn)"}
    assert not repeated


def test_a_proof_without_stacks_makes_no_report_section(tmp_path: Path) -> None:
    text = report.render(records(tmp_path, run_result()), {}, None, [])
    assert "No py-spy diagnosis in these results" in text


def test_the_report_shows_every_process_stacks_under_its_pid(tmp_path: Path) -> None:
    stacks = recorded_stacks()
    text = report.render(records(tmp_path, run_result(), spy=proof(stacks=stacks)), {}, None, [])
    for pid, rendered in stacks.items():
        assert f"process {pid}:\n{rendered.rstrip()}" in text
    assert "QueueFeederThread (tid 19029" in text and "Queue._feed (" in text
    assert "No py-spy diagnosis" not in text


def test_the_headline_quotes_the_measured_threshold_at_the_default_capacity(tmp_path: Path) -> None:
    loaded = records(tmp_path, run_result(), thresholds=(threshold_line(4096, 4074, 4074), threshold_line()))
    text = report.render(loaded, {}, None, [])
    assert "up to 65,514 payload bytes passes and 65,515 bytes stall" in text


def test_the_report_opens_with_the_bug_the_measured_threshold_and_the_fix(tmp_path: Path) -> None:
    loaded = records(tmp_path, run_result(), thresholds=(threshold_line(),))
    lines = report.render(loaded, {}, None, []).splitlines()
    assert lines[0] == "# joinstall report"
    assert lines[2].startswith("**The bug:** the parent calls `join(T)` before `get()`")
    assert lines[3].startswith("**Measured:**") and "up to 65,514 payload bytes passes" in lines[3]
    assert lines[4] == f"**The fix:** {FIX_ADVICE}."


def test_files_from_one_machine_are_one_results_line(tmp_path: Path) -> None:
    meta = {**META, "tool_version": "1.0", "system": "Linux", "kernel": "6.1"}
    paths = [write(tmp_path / f"r{n}.jsonl", [threshold_line()], meta) for n in range(6)]
    text = report.render(results.load(paths), {}, None, [])
    assert text.count("joinstall 1.0 on Linux 6.1") == 1
    assert "`r0.jsonl`, `r1.jsonl`, `r2.jsonl`, `r3.jsonl`, `r4.jsonl`, `r5.jsonl`: joinstall 1.0" in text


def test_results_from_another_tool_version_are_warned_about(tmp_path: Path) -> None:
    from joinstall import __version__

    ours = write(tmp_path / "ours.jsonl", [threshold_line()], {**META, "tool_version": __version__})
    old = write(tmp_path / "old.jsonl", [threshold_line()], {**META, "tool_version": "0.0.1"})
    notes = report.version_notes(results.load([ours, old]))
    assert len(notes) == 1 and "old.jsonl was written by joinstall 0.0.1" in notes[0]
