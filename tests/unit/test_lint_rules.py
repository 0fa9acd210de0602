"""Each rule on small sources: the shapes it must flag, and the near misses it must leave alone."""

from __future__ import annotations

import ast
import textwrap

import pytest
from joinstall.lint import rules
from joinstall.lint.check import ALL, Selection, lint_source
from joinstall.lint.flake8 import Plugin

HEAD = "import multiprocessing as mp\nimport subprocess\n"


def codes(body: str, select: Selection = ALL) -> list[str]:
    return [f.code for f in lint_source(HEAD + textwrap.dedent(body), "t.py", select)]


FLAGGED = {
    "plain join, then get": """
        q = mp.Queue()
        p = mp.Process(target=f, args=(q,))
        p.start()
        p.join()
        q.get()
    """,
    "join with a timeout": """
        def main():
            q = mp.SimpleQueue()
            p = mp.Process(target=f, kwargs={"q": q})
            p.start()
            p.join(5)
            return q.get()
    """,
    "a context's queue and process": """
        def main():
            ctx = mp.get_context("spawn")
            q = ctx.JoinableQueue()
            p = ctx.Process(target=f, args=[q])
            p.start(); p.join(); q.get()
    """,
    "a subclass given the queue": """
        class W(mp.Process):
            def __init__(self, q):
                super().__init__()
                self.q = q
        def main():
            q = mp.Queue()
            w = W(q)
            w.start(); w.join(); q.get()
    """,
    "a bound method of self": """
        class Job:
            def __init__(self):
                self.q = mp.Queue()
            def start(self):
                self.p = mp.Process(target=self.work)
                self.p.start()
            def finish(self):
                self.p.join()
                return self.q.get()
    """,
    "a list of processes": """
        def main():
            q = mp.Queue()
            ps = [mp.Process(target=f, args=(q, i)) for i in range(3)]
            for p in ps:
                p.start()
            for p in ps:
                p.join()
            return [q.get() for _ in ps]
    """,
    "a closure target": """
        def main():
            q = mp.Queue()
            def child():
                q.put(1)
            p = mp.Process(target=child)
            p.start(); p.join(); q.get()
    """,
}

SILENT = {
    "get, then join": """
        q = mp.Queue()
        p = mp.Process(target=f, args=(q,))
        p.start(); q.get(); p.join()
    """,
    "a manager queue": """
        with mp.Manager() as m:
            q = m.Queue()
            p = mp.Process(target=f, args=(q,))
            p.start(); p.join(); q.get()
    """,
    "queue.Queue and a thread": """
        import queue, threading
        q = queue.Queue()
        t = threading.Thread(target=f, args=(q,))
        t.start(); t.join(); q.get()
    """,
    "a queue the child never receives": """
        q = mp.Queue()
        p = mp.Process(target=f, args=(1,))
        p.start(); p.join(); q.get()
    """,
    "a queue only the child reads": """
        q = mp.Queue()
        p = mp.Process(target=f, args=(q,))
        p.start(); q.put(1); p.join()
    """,
    "a helper that may drain it first": """
        q = mp.Queue()
        p = mp.Process(target=f, args=(q,))
        p.start(); collect(q); p.join(); q.get()
    """,
    "a polling loop": """
        q = mp.Queue()
        p = mp.Process(target=f, args=(q,))
        p.start()
        while p.is_alive():
            p.join(0.1)
            q.get()
    """,
    "terminated before the join": """
        q = mp.Queue()
        p = mp.Process(target=f, args=(q,))
        p.start(); p.terminate(); p.join(); q.get()
    """,
    "a queue from a parameter (unknown kind)": """
        def main(q):
            p = mp.Process(target=f, args=(q,))
            p.start(); p.join(); q.get()
    """,
    "multiprocessing.dummy (threads)": """
        from multiprocessing.dummy import Process, Queue
        q = Queue()
        p = Process(target=f, args=(q,))
        p.start(); p.join(); q.get()
    """,
    "run and check_output": """
        subprocess.run(["ls"], capture_output=True)
        subprocess.check_output(["ls"])
    """,
    "DEVNULL, then wait": """
        subprocess.Popen(["ls"], stdout=subprocess.DEVNULL).wait()
    """,
    "communicate": """
        p = subprocess.Popen(["ls"], stdout=subprocess.PIPE)
        p.communicate()
        p.wait()
    """,
    "a pipe read by the next process": """
        a = subprocess.Popen(["ls"], stdout=subprocess.PIPE)
        b = subprocess.Popen(["wc"], stdin=a.stdout, stdout=subprocess.PIPE)
        a.stdout.close(); b.communicate(); a.wait()
    """,
    "a Popen made elsewhere, waited for with no read here": """
        class C:
            def stop(self):
                self.proc.wait()
    """,
    "a pool without queues": """
        pool = mp.Pool(2)
        pool.map(f, range(3)); pool.close(); pool.join()
    """,
}


@pytest.mark.parametrize("body", FLAGGED.values(), ids=FLAGGED.keys())
def test_join_before_drain_is_flagged(body: str) -> None:
    assert codes(body) == ["JS101"]


@pytest.mark.parametrize("body", SILENT.values(), ids=SILENT.keys())
def test_near_misses_are_silent(body: str) -> None:
    assert codes(body) == []


def test_popen_wait_before_read_and_never_read() -> None:
    body = """
        p = subprocess.Popen(["ls"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.wait()
        p.communicate()
        subprocess.Popen(["ls"], stdout=subprocess.PIPE).wait()
    """
    assert codes(body) == ["JS102", "JS102"]


def test_pool_joined_before_its_initargs_queue_is_drained() -> None:
    body = """
        q = mp.Queue()
        pool = mp.Pool(2, initializer=init, initargs=(q,))
        pool.map(f, range(2)); pool.close(); pool.join()
        q.get()
    """
    assert codes(body) == ["JS103"]


def test_executor_with_block_waits_for_its_workers() -> None:
    body = """
        from concurrent.futures import ProcessPoolExecutor
        q = mp.Queue()
        with ProcessPoolExecutor(initializer=init, initargs=(q,)) as ex:
            ex.submit(f)
        q.get()
    """
    assert codes(body) == ["JS103"]


def test_cancel_join_thread_is_a_false_fix_anywhere() -> None:
    assert codes("def f(q):\n    q.cancel_join_thread()\n") == ["JS104"]


def test_message_names_the_process_the_queue_and_the_fix() -> None:
    (finding,) = lint_source(HEAD + textwrap.dedent(FLAGGED["plain join, then get"]), "t.py")
    assert finding.message.startswith("p.join() before q is drained")
    assert "get() from q before joining" in finding.message
    assert "\n" not in finding.message
    assert finding.text() == f"t.py:{finding.line}:1: JS101 {finding.message}"


def test_noqa_silences_its_code_only() -> None:
    src = HEAD + "q = mp.Queue()\np = mp.Process(target=f, args=(q,))\np.join(){}\nq.get()\n"
    assert [f.code for f in lint_source(src.format("  # noqa: JS101"))] == []
    assert [f.code for f in lint_source(src.format("  # noqa"))] == []
    assert [f.code for f in lint_source(src.format("  # noqa: JS102"))] == ["JS101"]
    assert [f.code for f in lint_source(src.format("  # NOQA:JS1"))] == []


def test_select_and_ignore_by_prefix() -> None:
    body = "def f(q):\n    q.cancel_join_thread()\n"
    assert codes(body, Selection(("JS104",))) == ["JS104"]
    assert codes(body, Selection(("JS101",))) == []
    assert codes(body, Selection(("JS",), ("JS10",))) == []


def test_a_file_that_does_not_parse_is_one_finding() -> None:
    (finding,) = lint_source(b"def (:\n", "bad.py")
    assert finding.code == rules.SYNTAX and finding.path == "bad.py" and "not linted" in finding.message


def test_every_rule_has_a_page_that_starts_with_its_code() -> None:
    for code, rule in rules.RULES.items():
        assert rule.page.startswith(code) and "fix" in rule.page.lower()


def test_the_flake8_plugin_reports_the_same_findings() -> None:
    src = HEAD + textwrap.dedent(FLAGGED["plain join, then get"])
    got = list(Plugin(ast.parse(src), src.splitlines(keepends=True)).run())
    (finding,) = lint_source(src)
    assert [(line, col + 1, text) for line, col, text, _ in got] == [
        (finding.line, finding.col, f"JS101 {finding.message}")
    ]
