"""The teaching notebooks run top to bottom and teach what they promise.

The notebooks are stored *with* their rendered outputs, so that a student can read them without
running anything; ``notebooks/render.py`` refreshes them. Here every notebook is executed again
from scratch with nbclient, in a fresh ``python3`` kernel whose working folder is a temporary one,
with the reference answers put into its exercise cells (cells whose id starts ``exercise-``).
The tests assert on what each notebook teaches: the thresholds it prints, the figures it draws,
and that every exercise check says "right".
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NAMES = [
    "01_the_bug.ipynb",
    "02_where_the_stall_begins.ipynb",
    "03_fixes_and_false_fixes.ipynb",
    "04_diagnosing_a_hung_program.ipynb",
    "05_hangs_beyond_the_queue.ipynb",
]
#: Each notebook must run top to bottom in under this many seconds on two cores.
BUDGET_S = 60.0
#: The reference answer of every exercise, by the id of its cell: it replaces the cell's
#: ``... = None  # YOUR ANSWER`` line.
REFERENCE = {
    "exercise-1-1": "stalls = {65_515, 100_000, 1_000_000}",
    "exercise-1-2": 'buggy_parents = {"A", "C", "D"}',
    "exercise-2-1": "threshold_16k = 16_362",
    "exercise-2-2": "puts_2100 = 17",
    "exercise-3-1": (
        'at_2mib = {"pipe": "ok", "manager": "ok", "bigpipe": "stalled", "cancel_join_thread": "data_loss"}'
    ),
    "exercise-3-2": 'my_parent = "data = q.get()\\np.join()"',
    "exercise-3-3": 'my_read = "out, _ = proc.communicate()"',
    "exercise-4-1": 'verdicts = {"A": "stalled", "B": "blocked", "C": "deadlocked", "D": "running"}',
    "exercise-4-2": 'exit_wait = "_finalize_join"',
    "exercise-5-1": 'my_parent = "here.send(21)\\nanswer = here.recv()\\nserver.join()"',
    "exercise-5-2": 'verdicts = {"A": "deadlocked", "B": "blocked", "C": "deadlocked"}',
}


class Ran:
    """One executed notebook: what each code cell printed, and what it displayed."""

    def __init__(self, nb: Any, seconds: float) -> None:
        self.seconds = seconds
        self.cells = [c for c in nb.cells if c.cell_type == "code"]
        self.texts = [_text(c.outputs) for c in self.cells]
        self.text = "\n".join(self.texts)

    @property
    def figures(self) -> int:
        return sum(1 for c in self.cells for o in c.outputs if "image/png" in o.get("data", {}))

    def exercises(self) -> list[str]:
        return re.findall(r"^Exercise \d: (\w+)", self.text, flags=re.M)


def execute(name: str, cwd: Path, answers: dict[str, str] = REFERENCE) -> Ran:
    """Run every cell, with the given answers in the exercise cells."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = _answer(cell.source, answers[cell.id])
        if cell.cell_type == "code":
            cell.outputs = []
    client = NotebookClient(
        nb, timeout=BUDGET_S, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    start = time.monotonic()
    # nbclient raises CellExecutionError on the first failing cell, naming it and its traceback.
    client.execute()
    ran = Ran(nb, time.monotonic() - start)
    assert ran.seconds < BUDGET_S, f"{name} took {ran.seconds:.1f} s, over its {BUDGET_S:.0f} s budget"
    return ran


def _answer(source: str, answer: str) -> str:
    """The exercise cell with its one ``... = None  # YOUR ANSWER`` line replaced by ``answer``."""
    lines = source.splitlines()
    [at] = [i for i, line in enumerate(lines) if "# YOUR ANSWER" in line]
    return "\n".join([*lines[:at], answer, *lines[at + 1 :]])


def _text(outputs: list[Any]) -> str:
    parts = []
    for out in outputs:
        assert out.get("output_type") != "error", f"{out.get('ename')}: {out.get('evalue')}"
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _exercise_ids(nb: Any) -> list[str]:
    return [c.id for c in nb.cells if c.cell_type == "code" and c.id.startswith("exercise-")]


# --- the stored notebooks -----------------------------------------------------------------------


def test_the_notebooks_are_the_ones_the_readme_lists() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    readme = (ROOT / "README.md").read_text()
    teachers = readme.split("## For teachers", 1)[1].split("\n## ", 1)[0]
    for name in NAMES:
        assert f"`{name.removesuffix('.ipynb')}`" in teachers, f"the teachers' section does not list {name}"


@pytest.mark.parametrize("name", NAMES)
def test_stored_with_rendered_outputs(name: str) -> None:
    """Readable without running: every code cell ran, in order, with no error and no local path."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "render it top to bottom"
    ran = Ran(nb, 0.0)
    assert ran.figures >= 1
    # The stored exercises are unanswered: their checks say so, and never show an answer as right.
    exercises = _exercise_ids(nb)
    assert exercises and set(exercises) <= set(REFERENCE)
    assert ran.exercises() == ["not"] * len(exercises)
    for cell in nb.cells:
        if cell.id in exercises:
            assert "= None" in cell.source and "YOUR ANSWER" in cell.source
    # Rendered outputs must not leak where they were rendered.
    for local in {str(ROOT), str(Path.home()), tempfile.gettempdir()} - {"/"}:
        assert local not in ran.text, f"{name} shows a local path ({local}); render it again"


# --- executed from scratch -----------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_the_bug(tmp_path: Path) -> None:
    ran = execute("01_the_bug.ipynb", tmp_path)
    out = ran.text
    # The 2016 program itself: one byte makes join wait its whole timeout, with the child alive.
    assert re.search(
        r"65,514 bytes.*\n(?:.*\n)*?PARENT: join returned after 0\.\d\d s; child alive\? False", out
    )
    assert re.search(
        r"65,515 bytes.*\n(?:.*\n)*?PARENT: join returned after 2\.\d\d s; child alive\? True", out
    )
    # The mechanism, step by step, in the kernel.
    assert "threads in this kernel: ['QueueFeederThread']" in out
    assert re.search(r"it sleeps in the kernel at: (anon_)?pipe_write", out)
    assert "def _finalize_join" in out and "thread.join()" in out
    assert re.search(r"feeder alive: False", out)
    assert "write() sizes (4, 65532) = 65,536 bytes" in out and "predicted threshold: 65,514 bytes" in out
    # The proof on a live process, and the fixed program.
    assert "buggy      65,514 bytes  ->  ok" in out and "buggy      65,515 bytes  ->  stalled" in out
    assert "fixed   1,048,576 bytes  ->  ok" in out
    assert re.search(r"in write\(\) \[wchan (anon_)?pipe_write\]", out)
    assert re.search(r"proven: True, over \d+ samples", out) and "The wait-for cycle:" in out
    assert "holds 61,444 of 65,536 bytes" in out  # the 17th page slot that was not there
    assert "received 1,048,576 bytes, sha256 matches" in out
    # Where the timeouts hit, buggy beside fixed.
    assert "buggy: stalled at ['65,515', '70,000', '262,144', '1,048,576']" in out
    assert "fixed: stalled at []" in out
    assert ran.figures == 1
    assert "  A: killed after 2.5 s: hung" in out and "  C: killed after 2.5 s: hung" in out
    assert ran.exercises() == ["right", "right"]


@pytest.mark.timeout(120)
def test_where_the_stall_begins(tmp_path: Path) -> None:
    ran = execute("02_where_the_stall_begins.ipynb", tmp_path)
    out = ran.text
    assert "capacity (F_GETPIPE_SZ): 65,536 bytes; one big write put in 65,536 bytes" in out
    assert "so the pipe has 16 page slots" in out
    assert "payload  65,514 bytes -> pickled  65,532 bytes (+18)" in out
    assert "payload 100,000 bytes -> pickled 100,009 bytes (+9)" in out
    assert "if n > 16384:" in out  # the framing rule, read from the standard library
    # Page slots: the live pipe and the model agree; 2,122-byte writes fill it with 33,952 bytes.
    assert "agree at every chunk size: True" in out
    assert "chunks of 2,122 bytes: 16 fit whole, 33,952 bytes in the pipe" in out
    assert (
        "payload 65,515: writes (4, 65533): 16 slots used, 61,444 bytes in the pipe; write #2 blocks" in out
    )
    assert "predicted threshold for a 64 KiB pipe: 65,514 bytes" in out
    # Predicted, then measured.
    assert "measured with real runs: 16,362 bytes fit, 16,363 stall (the model predicted 16,362)" in out
    for capacity, measured in ((4_096, 4_074), (65_536, 65_514), (262_144, 262_131), (1_048_576, 1_048_563)):
        assert re.search(
            rf"capacity +{capacity:,}: measured +{measured:,}, predicted +{measured:,}, agree = True", out
        )
    assert "measured with real runs: put 17 blocks (the model predicted 17)" in out
    assert (
        len(re.findall(r"messages of +[\d,]+ bytes: put +\d+ blocks \(predicted \d+\), agree = True", out))
        == 4
    )
    assert ran.figures == 3
    assert ran.exercises() == ["right", "right"]


@pytest.mark.timeout(120)
def test_fixes_and_false_fixes(tmp_path: Path) -> None:
    ran = execute("03_fixes_and_false_fixes.ipynb", tmp_path)
    out = ran.text
    rows = dict(
        re.findall(r"^(buggy|fixed|pipe|manager|bigpipe|cancel_join_thread|popen_wait) {2,}(.+)$", out, re.M)
    )
    assert rows["buggy"].split()[1:] == ["stalled", "stalled", "stalled"]
    for fix in ("fixed", "pipe", "manager"):
        assert rows[fix].split() == ["ok"] * 4
    assert rows["bigpipe"].split() == ["ok", "ok", "ok", "stalled"]
    assert rows["cancel_join_thread"].split()[1:] == ["data_loss"] * 3
    assert rows["popen_wait"].split() == ["ok", "ok", "stalled", "stalled"]
    # The false fix: no wait, and the checksum shows the loss.
    assert re.search(
        r"2,097,152 bytes sent: +\d[\d,]* received; sha256 sent \w+…, received \w+… -> DIFFERS", out
    )
    assert "threshold with a 1,048,576-byte pipe: 1,048,563 bytes (predicted 1,048,563)" in out
    # Popen.wait with PIPE, in the kernel: the same cliff, on the command's stdout pipe.
    assert "65,536 bytes: wait() returned at once" in out
    assert "65,537 bytes: wait() timed out after 1 s" in out
    assert re.search(r"the main thread of head \d+ is blocked writing", out) and "waits in wait4(" in out
    assert "use proc.communicate() instead of proc.wait()" in out
    assert ran.figures == 2
    assert ran.exercises() == ["right", "right", "right"]


@pytest.mark.timeout(120)
def test_diagnosing_a_hung_program(tmp_path: Path) -> None:
    ran = execute("04_diagnosing_a_hung_program.ipynb", tmp_path)
    out = ran.text
    # What a user sees: running, printed that it is done, no CPU.
    assert "still running after 1.5 s: True" in out and "it printed: worker: done" in out
    assert re.search(r"CPU used by the parent in the last second: 0\.0\d s", out)
    # Proven by the engine, with the cycle in words, the fix and py-spy's stacks.
    assert "verdict: stalled; proven: True" in out
    assert "The wait-for cycle:" in out and "Fix: drain the queue before joining" in out
    for frame in ("Queue._feed", "Queue._finalize_join", "BaseProcess.join", "<module> (batch_job.py:"):
        assert frame in out, frame
    assert re.search(r"QueueFeederThread \d+ -> parent \d+ main thread -> child \d+ main thread -> back", out)
    # Slow is not stalled: the reader sleeps, so the chain ends in a live thread.
    flat = " ".join(out.split())  # the report wraps at 100 columns
    # The slow reader sleeps between reads; the last sample may catch it reading.
    assert "verdict: blocked; proven: False" in out
    assert re.search(r"(asleep in time\.sleep|running), so it can still act", flat), flat
    assert re.search(
        r"\(futex\) -> child \d+ QueueFeederThread \d+ \(pipe_write\) -> parent \d+ main thread \(live\)", out
    )
    verdicts = dict(re.findall(r"^  ([ABCD]): (\w+) ", out, flags=re.M))
    assert verdicts == {"A": "stalled", "B": "blocked", "C": "deadlocked", "D": "running"}
    # The pytest plugin fails the hanging test with the proof; lint flags the family in source.
    assert "joinstall: hang proven in call" in out and "1 failed" in out
    assert re.search(r"pytest exited with 1 after \d+\.\d s", out)
    flagged = set(re.findall(r"^(\w+\.py):\d+:\d+: (JS\d+) ", out, flags=re.M))
    assert flagged == {
        ("batch_job.py", "JS101"),
        ("program_A.py", "JS101"),
        ("test_batch.py", "JS101"),
        ("popen_wait.py", "JS102"),
        ("false_fix.py", "JS104"),
    }
    assert "clean: program_B.py, program_C.py, program_D.py, slow_reader.py" in out
    assert "JS101 join before drain" in out
    assert ran.figures == 2
    assert ran.exercises() == ["right", "right"]


@pytest.mark.timeout(120)
def test_hangs_beyond_the_queue(tmp_path: Path) -> None:
    ran = execute("05_hangs_beyond_the_queue.ipynb", tmp_path)
    out = ran.text
    # What each program's diagnosis said, from the cell that reports it (reports wrap at 100 columns).
    said = {
        name: (verdict, proven == "True", " ".join(text.split()))
        for text in ran.texts
        for name, verdict, proven in re.findall(r"^(\w+\.py): verdict (\w+), proven (\w+)", text, re.M)
    }
    # Each family's hang is proven, its live twin (diagnosed while it looks hung) is not.
    hangs = {
        "popen_wait.py": "stalled",
        "pipe_join.py": "deadlocked",
        "pool_lost.py": "deadlocked",
        "async_wait.py": "stalled",
    }
    for name, verdict in hangs.items():
        assert said[name][:2] == (verdict, True), name
    for twin in ("popen_slow.py", "pipe_late.py", "ppe_lost.py", "async_slow.py"):
        assert said[twin][0] in ("blocked", "running") and not said[twin][1], twin
    # 1. Popen.wait(): the child writes into a full pipe only the waiting parent reads.
    popen = said["popen_wait.py"][2]
    assert re.search(
        r"blocked writing 1,000,000 bytes into pipe:\[\d+\], which holds 65,536 of 65,536", popen
    )
    assert (
        "Fix: read the child's output while waiting: use proc.communicate() instead of proc.wait()" in popen
    )
    assert re.search(
        r"popen_communicate\.py: exit status 0 after \d+\.\d\d s; it printed: read 1,000,000", out
    )
    assert re.search(
        r"Not proven: .* parent \d+ is (asleep in time\.sleep|running), so it can still act",
        said["popen_slow.py"][2],
    )
    # 2. A duplex Pipe is a socketpair: the child's recv() waits for the holders of the peer.
    pipe = said["pipe_join.py"][2]
    assert re.search(
        r"on a unix socket:\[\d+\] \(its peer socket:\[\d+\]\), with nothing queued; only parent \d+ and"
        r" child \d+ can send to it",
        pipe,
    )
    assert "Fix: send what the other side waits for before waiting for it" in pipe
    assert re.search(r"Not proven: .* parent \d+ is asleep in time\.sleep", said["pipe_late.py"][2])
    # 3. A Pool that lost a worker: proven, with its cause; the executor raises and ends.
    pool = said["pool_lost.py"][2]
    assert re.search(
        r"Cause: (worker \d+|a worker) died \(.+?\) while it ran a task, and that task's result will never"
        r" come: both workers of the Pool in parent \d+ are idle",
        pool,
    )
    assert "Fix: use concurrent.futures.ProcessPoolExecutor, which raises BrokenProcessPool" in pool
    assert "ApplyResult.get (multiprocessing/pool.py:" in out and "<module> (pool_lost.py:" in out
    assert "ppe_lost.py ended by itself, with exit status 0" in out
    assert "s after the kill: BrokenProcessPool: A process in the process pool was terminated" in out
    # 4. asyncio: the loop paused the full pipe and waits for the child's exit.
    loop = said["async_wait.py"][2]
    assert re.search(r"Cause: the event loop of parent \d+ stopped reading child \d+'s output", loop)
    assert re.search(r"epoll_wait on (its own wake-up socket|the pidfd of process \d+)", loop)
    assert "Fix: read the subprocess's output while waiting: await proc.communicate()" in loop
    assert re.search(
        r"async_communicate\.py: exit status 0 after \d+\.\d\d s; it printed: read 3,000,000", out
    )
    assert re.search(r"Not proven: .* child \d+ is asleep in time\.sleep", said["async_slow.py"][2])
    # The four cycles drawn; the three predictions: a peer outside the tree is never proven.
    assert ran.figures == 1
    assert len(re.findall(r"\d\. [^\n]+: \d+ threads in the cycle, \d+ stuck behind it\n", out)) == 4
    verdicts = dict(re.findall(r"^  ([ABC]): (\w+) ", out, flags=re.M))
    assert verdicts == {"A": "deadlocked", "B": "blocked", "C": "deadlocked"}
    flat = " ".join(out.split())
    assert "which something outside the tree can end" in flat
    assert "sleeps with no timer and no fd that anyone will make ready" in flat
    assert ran.exercises() == ["right", "right"]
