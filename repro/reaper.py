"""Start a program in a session of its own and make sure every process of it is reaped.

Three layers, because each covers a way the others fail:

* the program leads a new session, so one ``killpg`` reaches its whole tree, grandchildren
  (``sh``, ``cat``, the multiprocessing child) included;
* this process becomes a *child subreaper*, so orphans of that tree are re-parented to us and
  we can ``waitpid`` them; otherwise they would stay zombies under an init that does not reap;
* a watchdog ``sh`` holds a pipe from us: when we die, even by SIGKILL, it reads EOF and kills
  the group. ``setpriv --pdeathsig`` (where present) covers the instant before it starts.

A group kill also kills multiprocessing's resource tracker, which would have unlinked the
tree's named semaphores (``/dev/shm/sem.mp-*``, spawn and forkserver). So a tree is first
*frozen* (SIGSTOP: nothing in it can create a semaphore or a process any more), then the
semaphore files its processes map or hold open are read from ``/proc``, then it is killed, and
the files are unlinked once it is reaped. Without the freeze, a program killed while it starts
could create a semaphore between the reading and the kill, and leave it behind for ever.

SIGINT and SIGTERM (``install_signal_handlers``) kill every live tree at once, from the
handler, so that no command waits for a running program; only the first signal raises.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

PR_SET_CHILD_SUBREAPER = 36
# It kills only if the harness vanished without saying "done": once the group is reaped its
# id may be reused. dash's kill takes no `--`: `-KILL` is the signal, `-PGID` the group.
_WATCHDOG = 'read pgid; read word; [ "$word" = done ] || kill -KILL "-$pgid" 2>/dev/null'
SHM = Path("/dev/shm")
#: The files of multiprocessing's named semaphores (``SemLock._make_name``: ``/mp-...``).
SEMAPHORE_GLOB = "sem.mp-*"
#: Process states in /proc/PID/stat of a process that runs no more: stopped, traced, a zombie,
#: dead; and "" for one that is gone.
STOPPED = ("T", "t", "Z", "X", "")


class Stopping(Exception):
    """A signal arrived: no new program may start (raised in whichever thread tries)."""


class _Tree:
    """One live session: its group id, and the semaphore files its processes map."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.semaphores: set[str] = set()

    def kill(self) -> None:
        # Frozen, then read, then killed: afterwards the maps are gone with the processes.
        self.semaphores |= semaphores_of(freeze(self.pgid))
        kill_group(self.pgid)

    def clean(self) -> None:
        for path in self.semaphores:
            with contextlib.suppress(OSError):
                os.unlink(path)


_live: dict[int, _Tree] = {}
_stopping = threading.Event()
_signals: list[int] = []
#: Depth of the main thread's sections that a signal must not cut in two (starting a tree).
_shield = 0
_deferred = False


def become_subreaper() -> None:
    """Adopt orphaned descendants (Linux only; a no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def reap_group(pgid: int) -> None:
    """Reap every member of the group that is (now) our child, until none is left."""
    while True:
        try:
            os.waitpid(-pgid, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def freeze(pgid: int) -> list[int]:
    """Stop every member of the group (SIGSTOP) and return them, once all have stopped."""
    pids: list[int] = []
    for _ in range(3):  # a member forked before it stopped is stopped on the next round
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGSTOP)
        pids = members(pgid)
        wait_stopped(pids)
        if members(pgid) == pids:
            break
    return pids


def kill_and_clean(pids: Sequence[int]) -> None:
    """SIGKILL these processes and unlink the semaphore files they mapped or held open (read
    while they are stopped, before the kill).

    A killed tree takes its resource tracker with it, and nobody else would unlink them.
    """
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGSTOP)
    wait_stopped(pids)
    files = semaphores_of(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for path in files:
        with contextlib.suppress(OSError):
            os.unlink(path)


def wait_stopped(pids: Sequence[int], timeout: float = 1.0, proc: Path = Path("/proc")) -> None:
    """Wait until each process has stopped (or is gone): a SIGSTOP is delivered on the target's
    way back to user space, so a process running when it was sent may still be in a system call.
    A process in an uninterruptible sleep may take long: after ``timeout`` we go on without it."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _state(proc / str(pid) / "stat") not in STOPPED and time.monotonic() < deadline:
            time.sleep(0.0005)


def _state(stat: Path) -> str:
    try:
        return stat.read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return ""  # gone


def members(pgid: int, proc: Path = Path("/proc")) -> list[int]:
    """The pids of process group ``pgid`` (empty where there is no /proc)."""
    found = []
    for entry in proc.glob("[0-9]*/stat"):
        try:
            # The name may hold spaces and parentheses: the fields start after the last ')'.
            fields = entry.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid):
            found.append(int(entry.parent.name))
    return found


def semaphores_of(pids: Sequence[int], proc: Path = Path("/proc"), shm: Path = SHM) -> set[str]:
    """The multiprocessing semaphore files in ``shm`` that these processes map or hold open.

    glibc's ``sem_open`` writes a temporary file ``sem.XXXXXX``, maps it, links it under its
    name and unlinks the temporary one, so the maps show the temporary name, deleted: the inode
    is what ties a mapping to ``sem.mp-*``. A process stopped half-way holds the temporary file
    open (before the map) or mapped (before the link): that file is theirs too.
    """
    inodes = set()
    for pid in pids:
        inodes |= _mapped_inodes(proc / str(pid), f"{shm}/sem.")
    if not inodes:
        return set()
    # Why scandir: a directory entry carries its inode, so no file is stat()ed (a busy /dev/shm
    # can hold thousands of semaphores of other programs).
    with contextlib.suppress(OSError), os.scandir(shm) as entries:
        return {e.path for e in entries if is_semaphore_file(e.name) and e.inode() in inodes}
    return set()


def is_semaphore_file(name: str) -> bool:
    """multiprocessing's semaphore names, and glibc's temporary ones (``sem.`` + 6 characters)."""
    return name.startswith(SEMAPHORE_GLOB.rstrip("*")) or (len(name) == 10 and name.startswith("sem."))


def semaphore_files(shm: Path = SHM) -> set[str]:
    """Every such file in ``shm`` (one directory listing)."""
    try:
        return {str(shm / n) for n in os.listdir(shm) if is_semaphore_file(n)}
    except OSError:
        return set()


def _mapped_inodes(piddir: Path, prefix: str) -> set[int]:
    """The inodes of the files under ``prefix`` that a process maps or has open."""
    inodes: set[int] = set()
    try:
        maps = (piddir / "maps").read_text()
    except OSError:
        return inodes
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith(prefix):
            inodes.add(int(fields[4]))
    with contextlib.suppress(OSError), os.scandir(piddir / "fd") as fds:
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(fd.path).startswith(prefix):
                    inodes.add(os.stat(fd.path).st_ino)
    return inodes


def stopping() -> bool:
    """True once SIGINT or SIGTERM arrived: a result from now on may be from a killed run."""
    return _stopping.is_set()


def first_signal() -> int | None:
    """The first signal received, or None."""
    return _signals[0] if _signals else None


def kill_all() -> None:
    """Stop every live tree now (from a signal handler); trees started later die at once."""
    _stopping.set()
    for tree in list(_live.values()):
        tree.kill()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _deferred
    # Only the first signal raises: a second one must not cut the clean-up short. Told before
    # the kill: a second signal's handler runs inside this one's kill_all() (Python runs
    # handlers between bytecodes), and counted after it, this one would not raise either.
    first = not _signals
    _signals.append(signum)
    kill_all()
    if first:
        if _shield:
            _deferred = True
        else:
            raise KeyboardInterrupt


def install_signal_handlers() -> None:
    """SIGINT and SIGTERM: kill every tree, then raise KeyboardInterrupt once.

    Installed explicitly: a shell that starts a background job ignores SIGINT for it, and
    Python then leaves SIGINT ignored.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """A signal in the main thread waits until the block is done (e.g. a tree is registered)."""
    global _shield, _deferred
    main = threading.current_thread() is threading.main_thread()
    if main:
        _shield += 1
    try:
        yield
    finally:
        if main:
            _shield -= 1
            if not _shield and _deferred:
                _deferred = False
                raise KeyboardInterrupt


@contextlib.contextmanager
def session(argv: Sequence[str], **popen_kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` as a session leader; on leaving, kill and reap the whole session."""
    become_subreaper()
    setpriv = shutil.which("setpriv")
    prefix = [setpriv, "--pdeathsig", "KILL"] if setpriv else []
    watchdog: subprocess.Popen[bytes] | None = None
    proc: subprocess.Popen[bytes] | None = None
    tree: _Tree | None = None
    try:
        with _shielded():
            if _stopping.is_set():
                raise Stopping("interrupted: no further program is started")
            # In a session of its own, so that the terminal's Ctrl-C does not kill it with us.
            watchdog = subprocess.Popen(
                ["/bin/sh", "-c", _WATCHDOG], stdin=subprocess.PIPE, start_new_session=True
            )
            proc = subprocess.Popen([*prefix, *argv], start_new_session=True, **popen_kwargs)  # type: ignore[call-overload]
            tree = _live[proc.pid] = _Tree(proc.pid)
            if _stopping.is_set():
                tree.kill()
            assert watchdog.stdin is not None
            watchdog.stdin.write(f"{proc.pid}\n".encode())
            watchdog.stdin.flush()
        yield proc
    finally:
        # Shielded too: a Ctrl-C raised mid-way would leave the group unreaped, its semaphores
        # linked, and the watchdog without its "done", to kill a reused group id at our exit.
        with _shielded():
            if proc is not None:
                tree = tree or _Tree(proc.pid)
                tree.kill()
                proc.wait()
                reap_group(proc.pid)
                tree.clean()
                _live.pop(proc.pid, None)
                for stream in (proc.stdin, proc.stdout, proc.stderr):
                    if stream is not None:
                        stream.close()
            if watchdog is not None:
                if watchdog.stdin is not None:
                    with contextlib.suppress(BrokenPipeError):
                        watchdog.stdin.write(b"done\n")
                    with contextlib.suppress(BrokenPipeError):
                        watchdog.stdin.close()
                watchdog.wait()
