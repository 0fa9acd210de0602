"""Stop what a proven hang left behind: the stuck processes, and this process's stuck threads.

A stuck *process* is killed (SIGKILL: a hung process may ignore anything gentler), with its
descendants, and never reaped here: its owner (``multiprocessing``, ``subprocess``) reaps it and
so learns its exit status. Only descendants of this process are ever touched, and never
multiprocessing's own services (the resource tracker, the forkserver): they serve the whole
session, stuck only *behind* the hang, and a killed tracker could no longer unlink the
semaphores of the processes that did hang.

A stuck *thread* of this process cannot be killed. One blocked writing a full pipe that only
this process reads is unblocked by closing our read ends of that pipe, so its write fails with
EPIPE; a reader of an empty pipe, by closing our write ends, so it reads EOF. "Closing" is a
``dup2`` of ``/dev/null`` over the fd: the number stays taken, so the test's own later
``os.close(fd)`` closes /dev/null and not whatever file would have reused the number.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Iterable, Iterator

import psutil

#: How long to wait for a killed process to die (it is usually gone within a millisecond).
KILL_WAIT = 2.0


def kill(pids: Iterable[int]) -> list[int]:
    """SIGKILL the given descendants of this process and theirs; return the pids killed."""
    try:
        ours = {p.pid: p for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        return []
    doomed: dict[int, psutil.Process] = {}
    for pid in pids:
        if pid in ours:
            doomed[pid] = ours[pid]
            with contextlib.suppress(psutil.Error):
                doomed.update((c.pid, c) for c in ours[pid].children(recursive=True))
    doomed = {pid: proc for pid, proc in doomed.items() if not service(pid)}
    for proc in doomed.values():
        with contextlib.suppress(psutil.Error):
            proc.kill()
    deadline = time.monotonic() + KILL_WAIT
    for proc in doomed.values():
        while time.monotonic() < deadline and _running(proc):
            time.sleep(0.002)
    return sorted(doomed)


def service(pid: int) -> bool:
    """Whether ``pid`` is a multiprocessing resource tracker or the forkserver itself."""
    from joinstall.engine import waits

    cmdline = _cmdline(pid)
    if waits.is_tracker(cmdline):
        return True
    with contextlib.suppress(psutil.Error):
        return waits.is_forkserver_cmdline(cmdline, _cmdline(psutil.Process(pid).ppid()))
    return False


def _cmdline(pid: int) -> list[str]:
    """Through psutil: without /proc too (the cleanup at a timeout runs there)."""
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def unblock_threads(tids: Iterable[int]) -> list[int]:
    """Free the given threads of this process from pipe reads and writes; return the fds closed."""
    from joinstall.engine import snapshot, syscalls

    me = snapshot.process(os.getpid())
    if me is None:
        return []
    wanted = set(tids)
    closed: list[int] = []
    for thread in me.threads:
        if thread.tid not in wanted or not thread.args:
            continue
        call = syscalls.name(thread.syscall)
        if call in ("write", "writev"):
            close_writable = False  # a writer of a full pipe: close the read ends
        elif call in ("read", "readv"):
            close_writable = True  # a reader of an empty pipe: close the write ends
        else:
            continue
        blocked = me.fd(thread.args[0])
        if blocked is None or blocked.kind != "pipe":
            continue
        for end in me.fds:
            other_end = end.writable if close_writable else end.readable and not end.writable
            if end.kind == "pipe" and end.inode == blocked.inode and other_end and end.fd not in closed:
                _retire(end.fd)
                closed.append(end.fd)
    return closed


def _retire(fd: int) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def stuck_threads(tids: Iterable[int]) -> list[threading.Thread]:
    """Threads among these tids that still live, the main thread aside.

    A non-daemon one blocks interpreter exit in ``threading._shutdown``; a daemon one can too,
    when a ``multiprocessing`` finalizer joins it (a queue's feeder thread).
    """
    wanted = set(tids)
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t.native_id in wanted and t is not main and t.is_alive()]


@contextlib.contextmanager
def quiet_epipe(tids: Iterable[int]) -> Iterator[None]:
    """While freeing these threads, the EPIPE we cause them is no unhandled-exception warning."""
    wanted = set(tids)
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        ours = args.thread is not None and args.thread.native_id in wanted
        if not (ours and isinstance(args.exc_value, OSError) and args.exc_value.errno == errno.EPIPE):
            previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous
