"""What the lint knows about a value while it reads one scope: abstract objects and names.

A name is bound to a *value*: a set of abstract objects it may point to (a queue made at one
call site, a process, a pool, a ``Popen``, a list), a qualified name (``multiprocessing.Queue``
after ``from multiprocessing import Queue``), or a function or class of the same file. Anything
else is unknown, and an unknown value never leads to a finding.
"""

from __future__ import annotations

import ast
import dataclasses
import enum


class Kind(enum.Enum):
    QUEUE = "queue"
    PROCESS = "process"
    POOL = "pool"
    POPEN = "popen"
    #: A list, tuple, dict or comprehension: what iterating over it yields.
    SEQ = "seq"
    #: An instance of a class of the file (or ``self``): what its attributes hold.
    HOLDER = "holder"


@dataclasses.dataclass(eq=False)
class Obj:
    """One abstract object: everything made at one call site (a loop makes one, not many)."""

    kind: Kind
    name: str = ""
    #: PROCESS, POOL, HOLDER: the queues its child processes received.
    queues: set[Obj] = dataclasses.field(default_factory=set)
    #: SEQ: what iterating yields; ``items`` keeps a tuple's positions for unpacking.
    elems: set[Obj] = dataclasses.field(default_factory=set)
    items: tuple[Value | None, ...] | None = None
    #: HOLDER and instances of Process subclasses: attributes set on ``self``.
    attrs: dict[str, Value | None] = dataclasses.field(default_factory=dict)
    #: POPEN: stdout or stderr is a pipe the parent has to read.
    piped: bool = False
    #: POOL: leaving its ``with`` block waits for the workers (ProcessPoolExecutor, not Pool).
    exit_joins: bool = False


Objs = frozenset[Obj]


@dataclasses.dataclass(frozen=True)
class Qual:
    """A dotted name that an import made known: ``multiprocessing.get_context``."""

    name: str


@dataclasses.dataclass(frozen=True)
class Param:
    """A parameter of ``__init__``: ``self.x = x`` records which argument lands in which attribute."""

    name: str


@dataclasses.dataclass(eq=False)
class Func:
    """A function or lambda of this file, with the scope chain it was defined in."""

    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    chain: Chain


@dataclasses.dataclass(eq=False)
class Cls:
    """A class of this file. ``self_obj`` stands for ``self`` in its methods."""

    node: ast.ClassDef
    process: bool
    self_obj: Obj
    #: The scope chain the class was defined in: where its methods' free names resolve.
    chain: Chain
    #: ``__init__``'s parameters, in order, and the attribute each one is stored in.
    params: list[str] = dataclasses.field(default_factory=list)
    param_attrs: dict[str, str] = dataclasses.field(default_factory=dict)


Value = Objs | Qual | Param | Func | Cls
#: Where names resolve: the innermost scope's names first, the module's last.
Chain = list[dict[str, Value | None]]

EMPTY: Objs = frozenset()

# Forks of multiprocessing with the same queues and the same stall.
ALIASES = {"multiprocess": "multiprocessing", "torch.multiprocessing": "multiprocessing"}
# Where the same classes are also importable from.
SAME = {
    "multiprocessing.pool.Pool": "multiprocessing.Pool",
    "multiprocessing.context.Process": "multiprocessing.Process",
    "multiprocessing.process.BaseProcess": "multiprocessing.Process",
    "concurrent.futures.process.ProcessPoolExecutor": "concurrent.futures.ProcessPoolExecutor",
}
QUEUES = frozenset({"multiprocessing.Queue", "multiprocessing.JoinableQueue", "multiprocessing.SimpleQueue"})
PROCESS = "multiprocessing.Process"
POOLS = frozenset({"multiprocessing.Pool", "concurrent.futures.ProcessPoolExecutor"})
CONTEXT = "multiprocessing.get_context"
POPEN = "subprocess.Popen"
PIPE = "subprocess.PIPE"

#: Queue methods that read: calling them (or passing them on, ``iter(q.get, None)``) drains.
GETS = frozenset({"get", "get_nowait"})
#: Queue methods that neither read nor hand the queue to somebody who might.
QUIET = frozenset(
    {"put", "put_nowait", "close", "join_thread", "qsize", "empty", "full", "task_done", "join",
     "cancel_join_thread"}
)  # fmt: skip
#: Pool methods that hand work (and the task function's globals) to the workers.
TASKS = frozenset(
    {"apply", "apply_async", "map", "map_async", "imap", "imap_unordered", "starmap", "starmap_async",
     "submit"}
)  # fmt: skip


def qualify(module: str) -> str:
    """``torch.multiprocessing.queues`` -> ``multiprocessing.queues``; other names unchanged."""
    for alias, real in ALIASES.items():
        if module == alias or module.startswith(alias + "."):
            return real + module[len(alias) :]
    return module


def normal(name: str) -> str:
    """One spelling per class: ``multiprocessing.pool.Pool`` -> ``multiprocessing.Pool``."""
    return SAME.get(name, name)
