"""Start a program in a session of its own and make sure every process of it is reaped.

Three layers, because each covers a way the others fail:

* the program leads a new session, so one ``killpg`` reaches its whole tree, grandchildren
  (``sh``, ``cat``, the multiprocessing child) included;
* this process becomes a *child subreaper*, so orphans of that tree are re-parented to us and
  we can ``waitpid`` them; otherwise they would stay zombies under an init that does not reap;
* a watchdog ``sh`` holds a pipe from us: when we die, even by SIGKILL, it reads EOF and kills
  the group. ``setpriv --pdeathsig`` (where present) covers the instant before it starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence

PR_SET_CHILD_SUBREAPER = 36
# It kills only if the harness vanished without saying "done": once the group is reaped its
# id may be reused. dash's kill takes no `--`: `-KILL` is the signal, `-PGID` the group.
_WATCHDOG = 'read pgid; read word; [ "$word" = done ] || kill -KILL "-$pgid" 2>/dev/null'


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


@contextlib.contextmanager
def session(argv: Sequence[str], **popen_kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` as a session leader; on leaving, kill and reap the whole session."""
    become_subreaper()
    setpriv = shutil.which("setpriv")
    prefix = [setpriv, "--pdeathsig", "KILL"] if setpriv else []
    # In a session of its own, so that the terminal's Ctrl-C does not kill it with the harness.
    watchdog = subprocess.Popen(["/bin/sh", "-c", _WATCHDOG], stdin=subprocess.PIPE, start_new_session=True)
    proc: subprocess.Popen[bytes] | None = None
    try:
        proc = subprocess.Popen([*prefix, *argv], start_new_session=True, **popen_kwargs)  # type: ignore[call-overload]
        assert watchdog.stdin is not None
        watchdog.stdin.write(f"{proc.pid}\n".encode())
        watchdog.stdin.flush()
        yield proc
    finally:
        if proc is not None:
            kill_group(proc.pid)
            proc.wait()
            reap_group(proc.pid)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        if watchdog.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                watchdog.stdin.write(b"done\n")
            with contextlib.suppress(BrokenPipeError):
                watchdog.stdin.close()
        watchdog.wait()
