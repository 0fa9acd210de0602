"""``joinstall spy --pid PID``: a tree joinstall did not start (the production case).

Check that PID is a Python process we may observe, sample its tree the way the harness does
until a stall is proven (or say what it is doing instead), then capture it.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import psutil
from joinstall import harness
from joinstall.errors import PlatformError, UsageError
from joinstall.observe import procfs
from joinstall.observe.procfs import ProcState, Snapshot
from joinstall.observe.sampling import Sampler
from joinstall.observe.verdict import describe, thread_label
from joinstall.spy import capture, pyspy

#: Sample this long before concluding "not stalled".
SAMPLE_BUDGET = 1.0
NOT_OURS = (
    "it is not ours; run as its user or root (in a container add --cap-add=SYS_PTRACE;"
    " with Yama set kernel.yama.ptrace_scope=0)"
)


def check(pid: int) -> ProcState:
    """The target's state, or UsageError/PlatformError saying why it cannot be diagnosed."""
    if pid <= 0:
        raise UsageError(f"--pid must be a positive process id, not {pid}")
    if not procfs.available():
        raise PlatformError("this platform has no Linux /proc; joinstall spy cannot observe processes here")
    if pid == os.getpid():
        raise UsageError("--pid is joinstall itself; pass the PID of the Python parent that calls join()")
    try:
        with open(f"{procfs.PROC}/{pid}/syscall") as f:
            f.read()
    except FileNotFoundError:
        raise UsageError(f"no process with PID {pid}") from None
    except OSError:  # PermissionError, or EACCES from ptrace_may_access
        raise UsageError(f"cannot observe PID {pid}: {NOT_OURS}") from None
    try:
        proc = procfs.proc_state(pid)
    except PermissionError:  # a procfs that does not yet map this to None
        proc = None
    if proc is None:
        # proc_state gives None both for a process that is gone and for one not ours to read.
        if psutil.pid_exists(pid):
            raise UsageError(f"cannot observe PID {pid}: {NOT_OURS}")
        raise UsageError(f"no process with PID {pid}")
    if proc.threads and all(t.state == "Z" for t in proc.threads):
        raise UsageError(f"PID {pid} is a zombie: it has exited and waits for its parent to reap it")
    if not pyspy.is_python(proc):
        raise UsageError(
            f"PID {pid} ({proc.name}) is not a Python process;"
            " pass the PID of the Python parent that calls join()"
        )
    return proc


def sample(pid: int, *, window: float = harness.PROOF_WINDOW, budget: float = SAMPLE_BUDGET) -> Sampler:
    """Watch the tree under ``pid`` as the harness does: until proven, gone, or ``budget`` s passed."""
    sampler = Sampler()
    deadline = time.monotonic() + budget
    while sampler.sample(pid, window) is None and sampler.tree and time.monotonic() < deadline:
        time.sleep(harness.SAMPLE_INTERVAL)
    return sampler


def _seen(snap: Snapshot) -> str:
    """What each process of the tree is doing: ``python3 12 [main thread in clock_nanosleep]``."""
    return "; ".join(
        f"{p.name} {p.pid} [{', '.join(thread_label(p, t) for t in p.threads)}]" for p in snap.procs
    )


def _outside(sampler: Sampler, pid: int) -> str:
    """Why a full pipe proved nothing: a process outside the tree holds its read end (pass that one)."""
    readers = {
        inode: sorted(procfs.read_end_holders(inode) - set(sampler.tree))
        for inode in sampler.drained_elsewhere
    }
    said = [
        f"pipe:[{inode}] is full, but PID {', '.join(map(str, pids))} outside PID {pid}'s tree can read it:"
        f" pass --pid {pids[0]}"
        for inode, pids in sorted(readers.items())
        if pids
    ]
    return f" ({'; '.join(said)})" if said else ""


def diagnose(
    pid: int,
    *,
    window: float = harness.PROOF_WINDOW,
    budget: float = SAMPLE_BUDGET,
    binary: str | None = None,
    timeout: float = pyspy.DUMP_TIMEOUT,
    native: bool = False,
    locals_: bool = False,
) -> dict[str, Any]:
    """Prove and explain the stall of the tree under ``pid``; UsageError when there is none."""
    check(pid)
    start = time.monotonic()
    sampler = sample(pid, window=window, budget=budget)
    evidence = sampler.evidence
    if evidence is None:
        took = time.monotonic() - start
        last = procfs.snapshot(procfs.tree(pid))
        if not last.procs:
            raise UsageError(f"PID {pid} exited while it was being sampled")
        raise UsageError(
            f"not stalled: over {took:.2f} s and {sampler.samples} samples no thread of PID {pid}'s tree"
            f" stayed blocked writing a pipe that nobody reads{_outside(sampler, pid)}; seen: {_seen(last)}"
        )
    proven = time.monotonic() - start
    snap = sampler.snaps[-1]
    result = capture.capture(
        snap, evidence, pid, binary=binary, timeout=timeout, native=native, locals_=locals_
    )
    assert result is not None
    # The capture's roles, which py-spy's frames sharpen: the verdict names what the cycle names.
    roles = {p["pid"]: p["role"] for p in result["processes"]}
    return {
        "pid": pid,
        "verdict": "stalled",
        "explanation": f"stalled — proven: {describe(evidence, roles)}.",
        "evidence": dataclasses.asdict(evidence),
        "proof_seconds": round(proven, 4),
        "samples": sampler.samples,
        **result,
    }
