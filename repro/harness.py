"""Run a target program in its own session, watch its tree from outside, decide, always reap."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joinstall import defaults, interpreters, reaper, variants
from joinstall.engine import Diagnosis, Watcher, capture_stacks
from joinstall.engine import Verdict as HangVerdict
from joinstall.errors import NoProcError, UsageError
from joinstall.observe import pipes, procfs
from joinstall.observe.verdict import Verdict, classify
from joinstall.programs import seed
from joinstall.records import Mode, RunResult, RunSpec, Timings

PROGRAMS = Path(__file__).parent / "programs"
#: How often the tree is sampled. 5 ms keeps the time to proof near the time of an ok run.
SAMPLE_INTERVAL = 0.005
#: A run that outlives timeout + this is cut off as an error, so nothing can hang.
GRACE = 30.0
#: The bounds and the interpreter floor live in ``joinstall.defaults``; kept here by name.
MAX_PUTS = defaults.MAX_PUTS
MIN_PYTHON = defaults.MIN_PYTHON
MAX_TIMEOUT = defaults.MAX_TIMEOUT
_CHILD_PID = re.compile(r"^CHILD: PID is (\d+)")

Listener = Callable[[str], None]


def validate(spec: RunSpec) -> interpreters.Interpreter:
    """Reject a bad spec before anything is started (UsageError, one line); return its interpreter."""
    if not defaults.SIZE_BOUND.ok(spec.size):
        raise UsageError(defaults.SIZE_BOUND.message(spec.size))
    if not defaults.TIMEOUT_BOUND.ok(spec.timeout):
        raise UsageError(defaults.TIMEOUT_BOUND.message(spec.timeout))
    variant = variants.get(spec.variant)
    given = {"--pipe-size": spec.pipe_size != 0, "--puts": spec.puts != 1}
    for option, why in variant.not_for:
        if given[option]:
            # The variants name their options as the command line does; the engine names the value.
            value = option.lstrip("-").replace("-", " ")
            raise UsageError(f"a {value} setting does not apply to variant {variant.name}: {why}")
    if not defaults.PUTS_BOUND.ok(spec.puts):
        raise UsageError(defaults.PUTS_BOUND.message(spec.puts))
    if not (os.path.isfile(spec.shell) and os.access(spec.shell, os.X_OK)):
        raise UsageError(f"the shell {spec.shell} does not exist or is not executable; use /bin/sh")
    interp = interpreters.probe(spec.python)
    if interpreters.version_tuple(interp.version)[:2] < MIN_PYTHON:
        raise UsageError(
            f"Python {interp.version} cannot run the target program; use CPython"
            f" {'.'.join(map(str, MIN_PYTHON))} or newer"
        )
    if spec.mode is Mode.FAST and not procfs.available():
        raise NoProcError(
            "this platform has no Linux /proc, so a stall cannot be proven from outside; use the"
            " faithful, timeout-based mode"
        )
    if spec.start_method is not None and spec.start_method not in interp.start_methods:
        raise UsageError(
            f"start method {spec.start_method!r} is not available in Python {interp.version};"
            f" choose one of: {', '.join(interp.start_methods)}"
        )
    if spec.pipe_size:
        pipes.capacity_for(spec.pipe_size)
    if variant.name == "bigpipe":
        pipes.capacity_for(seed.BIGPIPE_SIZE)
    return interp


def program_argv(spec: RunSpec) -> list[str]:
    argv = [
        spec.python, "-u", str(PROGRAMS / f"{spec.program}.py"),
        "--size", str(spec.size), "--timeout", repr(spec.timeout), "--variant", spec.variant,
        "--shell", spec.shell, "--puts", str(spec.puts), "--pipe-size", str(spec.pipe_size),
    ]  # fmt: skip
    if spec.start_method:
        argv += ["--start-method", spec.start_method]
    return argv


class _Watch:
    """The state of one run while it goes: output lines, and the engine's proof once there is one."""

    def __init__(self, listener: Listener | None) -> None:
        self.listener = listener
        self.lines: list[str] = []
        self.stderr = b""
        self.proof: Diagnosis | None = None
        self._partial = b""

    def take(self, data: bytes) -> None:
        *done, self._partial = (self._partial + data).split(b"\n")
        for raw in done:
            line = raw.decode(errors="replace")
            self.lines.append(line)
            if self.listener and not line.startswith("RESULT "):
                self.listener(line)

    def child_pid(self) -> int | None:
        for line in self.lines:
            m = _CHILD_PID.match(line)
            if m:
                return int(m.group(1))
        return None

    def program_result(self) -> dict[str, Any] | None:
        for line in reversed(self.lines):
            if line.startswith("RESULT "):
                try:
                    parsed: dict[str, Any] = json.loads(line[7:])
                    return parsed
                except ValueError:
                    return None
        return None


def run(spec: RunSpec, listener: Listener | None = None) -> RunResult:
    """Run one program to its verdict. Every process it starts is reaped before this returns."""
    interp = validate(spec)
    observe = procfs.available()
    watch = _Watch(listener)
    start = time.monotonic()
    proven_at: float | None = None
    exit_code: int | None = None
    with reaper.session(program_argv(spec), stdout=-1, stderr=-1) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        deadline = start + spec.timeout + GRACE
        # The target's join(T) is one wait, not a polling loop: a timed wait of any length that
        # holds across two samples is part of the cycle, for as long as it lasts.
        # Only a stall stops a run, so the cheap syscall gate stands in until something writes.
        # The seed's SIGALRM bounds only its reads after join, and is disarmed after each.
        watcher = Watcher(proc.pid, min_timed=0.0, known_signals={signal.SIGALRM}, stalls_only=True)
        while sel.get_map() and time.monotonic() < deadline:
            _pump(sel, watch, SAMPLE_INTERVAL)
            if observe and watch.proof is None:
                found = watcher.step()
                if found is not None and found.verdict is not HangVerdict.STALLED:
                    # Not the join stall: the program guards its reads with an alarm of its own
                    # (a half-sent message), so it ends by itself; its own report decides.
                    observe = False
                elif found is not None:
                    proven_at = time.monotonic()
                    if spec.spy:
                        found = capture_stacks(found, native=spec.spy_native, locals_=spec.spy_locals)
                    watch.proof = found
                    if spec.mode is Mode.FAST:
                        break
        # What the program printed before we stopped it is still in the pipes: keep it.
        while sel.get_map() and _pump(sel, watch, 0):
            pass
        sel.close()
        if proven_at is None or spec.mode is Mode.FAITHFUL:
            try:
                exit_code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # The run overran timeout + GRACE: no exit code, so the verdict is an error.
                exit_code = None
        ended = time.monotonic()
    wall = time.monotonic() - start
    return _result(spec, interp.version, watch, proc.pid, exit_code, start, proven_at, ended, wall)


def _pump(sel: selectors.BaseSelector, watch: _Watch, wait: float) -> bool:
    """Move whatever the program printed into ``watch``; False when nothing was ready."""
    ready = sel.select(wait)
    for key, _ in ready:
        data = os.read(key.fd, 65536)
        if not data:
            sel.unregister(key.fileobj)
        elif key.data == "out":
            watch.take(data)
        else:
            watch.stderr += data
    return bool(ready)


def _roles(parent: int, child: int | None, watch: _Watch) -> dict[int, str]:
    roles = {parent: "parent"}
    if child:
        roles[child] = "child"
    for t in watch.proof.threads if watch.proof else ():
        roles.setdefault(t.pid, t.process.rsplit(" ", 1)[0])
    return roles


def _result(
    spec: RunSpec, version: str, watch: _Watch, parent: int, exit_code: int | None,
    start: float, proven_at: float | None, ended: float, wall: float,
) -> RunResult:  # fmt: skip
    result = watch.program_result()
    stderr = watch.stderr.decode(errors="replace")
    if exit_code == 2 and stderr.startswith("error: "):
        raise UsageError(stderr.strip().splitlines()[-1][len("error: ") :])
    verdict = classify(result, watch.proof is not None, exit_code, observed=procfs.available())
    child = watch.child_pid() or (result or {}).get("pid_child")
    roles = _roles(parent, child, watch)
    join_s = result.get("join_seconds") if result else None
    fast_stall = spec.mode is Mode.FAST and watch.proof is not None
    text = _explain(spec, verdict, watch.proof, result, exit_code, stderr)
    return RunResult(
        spec=spec,
        python_version=version,
        verdict=verdict,
        explanation=text,
        proof=watch.proof,
        program_result=result,
        timings=Timings(
            verdict_s=round((proven_at if fast_stall and proven_at else ended) - start, 4),
            wall_s=round(wall, 4),
            join_s=None if fast_stall else join_s,
            join_would_return_at=spec.timeout if fast_stall else None,
        ),
        pids={role: pid for pid, role in roles.items() if role in ("parent", "child")},
        output=tuple(watch.lines),
        stderr=stderr,
        exit_code=exit_code,
    )


def _explain(
    spec: RunSpec, verdict: Verdict, proof: Diagnosis | None, result: dict[str, Any] | None,
    exit_code: int | None, stderr: str,
) -> str:  # fmt: skip
    variant = variants.get(spec.variant)
    if verdict is Verdict.STALLED:
        why = f"proven: {proof.summary}" if proof else "not proven from outside"
        if spec.mode is Mode.FAST and proof:
            when = f"{variant.parent_waits}({spec.timeout:g}) would have returned only at its timeout, {spec.timeout:g} s"
        else:
            took = (result or {}).get("join_seconds")
            when = (
                f"join({spec.timeout:g}) returned after {took:.3f} s with the child still alive"
                if took
                else ""
            )
        # The engine's fix follows the cycle: the child's queue, or its subprocess's pipe.
        fix = f" Fix: {proof.fix if proof else variants.advice(False)}."
        return f"stalled — {when}; {why}.{fix}"
    if verdict is Verdict.DATA_LOSS and result:
        why = (
            f"{variant.changes} drops what the feeder had not written"
            if variant.kind is variants.Kind.FALSE_FIX
            else "the payload arrived incomplete"
        )
        return (
            f"data loss — received {result['bytes_received']:,} of {result['size']:,} bytes"
            f" (sha256 {'matches' if result['sha256_match'] else 'differs'}); {why}."
        )
    if verdict is Verdict.OK and result and variant.kind is variants.Kind.FALSE_FIX:
        return (
            f"ok this time, by luck — {result['bytes_received']:,} bytes arrived intact, but"
            f" {variant.changes} is a false fix: the child exits without waiting for its feeder,"
            " and whatever the feeder has not written yet is lost. Do not call it fixed."
        )
    if verdict is Verdict.OK and result and result.get("child_alive_after_join"):
        return (
            f"ok, but join({spec.timeout:g}) timed out — the child was still working, not stuck:"
            f" no stall was seen from /proc, and all {result['bytes_received']:,} bytes arrived"
            " intact afterwards. T is shorter than this payload takes; a longer T would not time out."
        )
    if verdict is Verdict.OK and result:
        return (
            f"ok — join returned after {result['join_seconds']:.3f} s; received"
            f" {result['bytes_received']:,} bytes, sha256 matches."
        )
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
    if exit_code is None:
        return f"error — the program overran join({spec.timeout:g}) + {GRACE:g} s and was stopped: {last}"
    return f"error — the program exited with {exit_code} and no result line: {last}"
