"""One table of defaults and bounds: each written once, checked at the command line with the
flag's name, and by the engine with the value's name; the README's exit codes match ExitCode."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from joinstall import cli, defaults, harness, interpreters
from joinstall.commands import sweep as sweep_command
from joinstall.errors import ExitCode, UsageError
from joinstall.measure import grid, matrix, threshold
from joinstall.measure.sweep import SweepConfig
from joinstall.records import Mode, RunSpec

ROOT = Path(__file__).resolve().parents[2]
#: The modules that used to carry their own copy of a default or a bound.
USERS = [
    "repro/options.py", "repro/records.py", "repro/demo.py", "repro/measure/grid.py",
    "repro/measure/matrix.py", "repro/measure/probes.py", "repro/measure/threshold.py",
    "repro/commands/sweep.py", "repro/commands/threshold.py", "repro/commands/matrix.py",
    "repro/commands/demo.py", "repro/commands/run.py",
]  # fmt: skip


@pytest.mark.timeout(60)
def test_faithful_runs_share_one_default_join_timeout() -> None:
    # `sweep --faithful` and `threshold --timeout-based` both wait out every stalled join.
    args = cli.build_parser().parse_args(["sweep", "--faithful", "--puts", "1"])
    swept = sweep_command.config_from(args).timeout
    searched = threshold.plan_threshold(sys.executable, mode=Mode.FAITHFUL).target.timeout
    assert swept == searched == defaults.FAITHFUL_TIMEOUT
    fast = cli.build_parser().parse_args(["sweep", "--puts", "1"])
    assert sweep_command.config_from(fast).timeout == RunSpec().timeout == defaults.TIMEOUT
    assert cli.build_parser().parse_args(["run"]).timeout == defaults.TIMEOUT


@pytest.mark.parametrize("path", USERS)
def test_no_copy_of_a_default_or_bound_is_left(path: str) -> None:
    floats = {defaults.TIMEOUT, defaults.FAITHFUL_TIMEOUT, defaults.MAX_TIMEOUT, 1.0}
    ints = {defaults.MAX_PUTS, defaults.MAX_POINTS, defaults.SIZE}
    found = [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse((ROOT / path).read_text()))
        if isinstance(node, ast.Constant)
        and not isinstance(node.value, bool)
        and (
            (isinstance(node.value, float) and node.value in floats)
            or (type(node.value) is int and node.value in ints)
        )
    ]
    assert not found, f"{path}: literals that belong in joinstall.defaults: {found}"


@pytest.mark.parametrize(
    ("spec", "name"),
    [(RunSpec(size=-1), "size"), (RunSpec(timeout=0), "timeout"), (RunSpec(puts=0), "puts")],
    ids=["size", "timeout", "puts"],
)
def test_the_harness_speaks_of_values_not_flags(spec: RunSpec, name: str) -> None:
    with pytest.raises(UsageError) as err:
        harness.validate(spec)
    assert str(err.value).startswith(f"{name} must be") and "--" not in str(err.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: grid.log_grid(1024, 4096, 0),
        lambda: grid.log_grid(0, 4096, 8),
        lambda: grid.log_grid(4096, 1024, 8),
        lambda: grid.log_grid(1024, 2**40, 8),
        lambda: matrix.plan([sys.executable], jobs=0),
        lambda: matrix.plan([sys.executable], puts=0),
        lambda: SweepConfig(sizes=()).validate(),
        lambda: SweepConfig(sizes=(1024,), jobs=0).validate(),
        lambda: SweepConfig(sizes=(1024,), puts=(0, 2)).validate(),
    ],
    ids=["points", "lo", "inverted", "hi", "jobs", "matrix-puts", "no-sizes", "sweep-jobs", "sweep-puts"],
)
def test_the_measurements_speak_of_values_not_flags(call: object) -> None:
    with pytest.raises(UsageError) as err:
        call()  # type: ignore[operator]
    assert "--" not in str(err.value) and "-j" not in str(err.value)


BAD = [
    (["run", "--puts", "0"], "--puts"),
    (["run", "--timeout", "inf"], "--timeout"),
    (["sweep", "--timeout", "0"], "--timeout"),
    (["sweep", "--points", "0"], "--points"),
    (["sweep", "--puts", "0-3"], "--puts"),
    (["sweep", "--hi", "300MiB"], "--hi"),
    (["sweep", "--lo", "0"], "--lo"),
    (["sweep", "--lo", "4KiB", "--hi", "4KiB"], "--lo below --hi"),
    (["sweep", "-j", "0"], "--jobs"),
    (["threshold", "--puts", "0"], "--puts"),
    (["threshold", "--timeout", "-1"], "--timeout"),
    (["threshold", "--message-size", "300MiB"], "--message-size"),
    (["threshold", "--lo", "10", "--hi", "5"], "--lo below --hi"),
    (["matrix", "-j", "0"], "--jobs"),
    (["matrix", "--puts", "100001"], "--puts"),
    (["demo", "-j", "0"], "--jobs"),
]


@pytest.mark.parametrize(("argv", "flag"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_the_command_line_refuses_a_bad_value_by_its_flag_before_probing_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], flag: str
) -> None:
    def probe(path: str) -> interpreters.Interpreter:
        raise AssertionError("an interpreter was asked before the options were checked")

    monkeypatch.setattr(interpreters, "probe", probe)
    try:
        code = cli.main(argv)
    except SystemExit as done:
        code = int(done.code or 0)
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err, err


def _readme_rows() -> dict[int, str]:
    text = (ROOT / "README.md").read_text()
    return {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \| (.*) \|$", text, re.MULTILINE)}


def test_the_readme_lists_exactly_the_exit_codes() -> None:
    assert set(_readme_rows()) == {int(code) for code in ExitCode.__members__.values()}


@pytest.mark.parametrize(("alias", "command"), [("NO_HANG", "spy"), ("FINDINGS", "lint")])
def test_an_alias_of_1_is_documented_for_its_command(alias: str, command: str) -> None:
    assert ExitCode[alias] == 1
    assert f"`{command}`" in _readme_rows()[1]


def test_every_exit_code_is_documented_in_the_enum() -> None:
    source = (ROOT / "repro" / "errors.py").read_text().splitlines()
    for name in ExitCode.__members__:
        (line,) = [n for n, text in enumerate(source) if re.match(rf"    {name} = \d+$", text)]
        assert source[line - 1].strip().startswith("#:"), f"ExitCode.{name} has no #: comment"


def test_the_size_limit_is_the_target_programs_own() -> None:
    from joinstall.programs import seed

    assert defaults.MAX_SIZE == seed.MAX_SIZE
