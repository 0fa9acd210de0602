"""The rules: a one-line message each (the bug and the fix) and a page for ``--explain``."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Rule:
    code: str
    #: A short name, for SARIF and the rule list.
    name: str
    #: One line: the bug, then the fix. ``{joined}``, ``{queue}``, ``{proc}`` come from the code.
    message: str
    page: str


JS101 = Rule(
    "JS101",
    "join-before-drain",
    "{joined}.join() before {queue} is drained: a child cannot exit until its queued data is read;"
    " get() from {queue} before joining",
    """\
JS101 join before drain

A process that was handed a multiprocessing queue is joined before the parent reads that queue.

    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    p.join()            # JS101: hangs once the child put more than a pipe holds
    result = q.get()

Why it hangs: put() hands the item to a feeder thread in the child, which writes it, pickled,
into a pipe. A Linux pipe holds 64 KiB. Once the item no longer fits, the feeder blocks in
write() until somebody reads. At exit the child waits for its feeder, and the parent waits in
join() for the child before it reads: nobody moves. join(timeout) returns at its timeout with
the child still alive. It works in tests with small payloads and hangs in production.

The fix: read everything the children will send, then join.

    result = q.get()    # one get() per item each child puts
    p.join()

Not flagged: joins after the drain; a polling loop that joins with a timeout and reads in the
same loop; Manager queues (a server process holds the data); queue.Queue with threads; a queue
the child never receives; multiprocessing.Pipe (no queue). SimpleQueue, JoinableQueue, queues
from a context (get_context("spawn").Queue()), Process subclasses and bound-method targets are
flagged like the plain case.

The lint follows names through assignments, self attributes, lists, loops and comprehensions
in one scope. When a queue is handed to code it cannot see (a helper, a reader thread) before
the join, it assumes that code drains it and stays silent.

Silence one line with `# noqa: JS101`. `joinstall run` reproduces the stall and proves it.
""",
)

JS102 = Rule(
    "JS102",
    "wait-with-unread-pipe",
    "{proc}.wait() while its stdout/stderr pipe is unread: the child blocks once the pipe is full;"
    " use {proc}.communicate() instead",
    """\
JS102 wait with an unread pipe

subprocess.Popen(..., stdout=PIPE or stderr=PIPE) is waited for before the pipe is read.

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    proc.wait()                     # JS102: hangs once cmd writes more than 64 KiB
    out = proc.stdout.read()

Why it hangs: the child writes into the pipe until it is full, then blocks in write(). The
parent waits for the child to exit before it reads. The subprocess docs warn about exactly
this next to Popen.wait().

The fix: communicate() reads both pipes while it waits.

    out, err = proc.communicate()

Not flagged: subprocess.run() and check_output() (they communicate); stdout=DEVNULL or a
file; reading the pipe (read, readline, iteration, communicate) before wait(); handing the
Popen object or its pipe to other code first.

Silence one line with `# noqa: JS102`.
""",
)

JS103 = Rule(
    "JS103",
    "pool-closed-before-drain",
    "{joined} is joined before {queue}, which its workers write to, is drained: a worker cannot exit"
    " until its queued data is read; drain {queue} before joining the pool",
    """\
JS103 pool closed before drain

A pool whose workers received a multiprocessing queue is closed and joined (or a
ProcessPoolExecutor shut down, also by leaving its `with` block) before the queue is drained.

    q = multiprocessing.Queue()
    pool = multiprocessing.Pool(4, initializer=init, initargs=(q,))
    pool.map(work, items)           # work() puts results into q
    pool.close()
    pool.join()                     # JS103: a worker with unsent data cannot exit
    results = [q.get() for _ in items]

Why it hangs: the same as JS101. Each worker's queue feeder thread blocks writing into the
full pipe; the worker waits for it at exit; join() waits for the workers.

The fix: drain the queue before close()/join(), or return results from the tasks instead of
putting them into a queue (pool.map returns them).

Workers receive a queue through initargs, or through a global or closed-over name the
initializer or task function uses (fork). A multiprocessing queue cannot be a task argument:
the pool refuses to pickle it ("Queue objects should only be shared between processes through
inheritance"); use a Manager queue there, which is fine to join before draining.

Silence one line with `# noqa: JS103`.
""",
)

JS104 = Rule(
    "JS104",
    "false-fix-cancel-join-thread",
    "cancel_join_thread() silences the join stall by dropping unsent data;"
    " drain the queue before join() instead",
    """\
JS104 false fix: cancel_join_thread()

    def work(q):
        q.put(big)
        q.cancel_join_thread()      # JS104: the child may exit with big half sent

Why it is wrong: cancel_join_thread() tells the process not to wait for the queue's feeder
thread at exit. The join no longer hangs, but whatever the feeder has not written into the
pipe is lost. With a payload larger than the pipe, the parent receives a truncated message (a
get() that blocks for ever) or nothing. The multiprocessing docs: "likely to cause enqueued
data to be lost, and you almost certainly will not need to use it".

The fix: keep the feeder and drain the queue in the parent before join() (see JS101).

Silence one line with `# noqa: JS104` where losing the data is intended.
""",
)

RULES: dict[str, Rule] = {r.code: r for r in (JS101, JS102, JS103, JS104)}

#: Reported for a file that cannot be parsed (or walked) or read (flake8's codes); never selected away.
SYNTAX = "E999"
UNREADABLE = "E902"


_DEFAULTS = {"joined": "the process", "queue": "the queue", "proc": "proc"}


def message(code: str, names: dict[str, str]) -> str:
    """The one-line message of a rule, with the names of the code it was found in."""
    return RULES[code].message.format_map({**_DEFAULTS, **names})
