"""The production program from the original bug report, reproduced, with its fixed variants.

Standalone on purpose: it imports only the standard library and runs unchanged under
CPython 3.8 to 3.14, so that joinstall can start it under any interpreter it finds.

A parent starts a child. The child runs ``cat /dev/urandom | head -c N`` through a shell and
puts the output into a queue. In the ``buggy`` variant the parent calls ``join(TIMEOUT)``
before ``get()``: once the pickled payload no longer fits into the pipe buffer, the child's
feeder thread blocks in ``write()`` and ``join`` returns only at its timeout.

The program prints the original's ``PARENT:``/``CHILD:`` lines and ends with one line
``RESULT {json}`` for the harness. A bad option exits with code 2 and a one-line
``error: ...`` on stderr.
"""

import argparse
import fcntl
import hashlib
import json
import multiprocessing
import os
import platform
import queue
import signal
import subprocess
import sys
import time

F_SETPIPE_SZ = 1031
F_GETPIPE_SZ = 1032
MAX_SIZE = 256 * 1024 * 1024
# The original read the payload through zsh; /bin/sh is everywhere, so it is the default.
DEFAULT_SHELL = "/bin/sh"
# Why $1: the size reaches the shell as a positional argument, never as command text.
COMMAND = 'cat /dev/urandom | head -c "$1"'
VARIANTS = (
    "buggy",
    "fixed",
    "pipe",
    "manager",
    "simplequeue",
    "cancel_join_thread",
    "executor",
    "bigpipe",
    "popen_wait",
)
BIGPIPE_SIZE = 1024 * 1024
#: A failed payload command sends this, then why, as its only message; the parent exits 3.
PAYLOAD_FAILED = b"\0joinstall: payload command failed\0"
#: The program's exit status when its payload command failed (no RESULT line then).
EXIT_PAYLOAD_FAILED = 3


class UsageError(Exception):
    """A bad option: the program prints one line and exits with 2."""


class GetTimeout(Exception):
    """Raised by the alarm that bounds a read which would otherwise block for ever."""


def say(text):
    # One write per line: parent and child share stdout, and print() writes the text and its
    # newline separately, which interleaves the two processes' lines.
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def read_payload(shell, size, wait_first=False):
    """Run the shell pipeline and return its output (``communicate`` as the original)."""
    proc = subprocess.Popen(
        [shell, "-c", COMMAND, "joinstall", str(size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if wait_first:
        # The sibling deadlock: wait() before reading; head blocks once the pipe is full.
        proc.wait()
    out, err = proc.communicate()
    if proc.returncode != 0:
        # Sent instead of the payload: an empty or short payload must not read as data loss.
        why = "%s -c %r exited with status %d: %s" % (
            shell,
            COMMAND,
            proc.returncode,
            err.decode(errors="replace").strip().replace("\n", " | ") or "it printed nothing on stderr",
        )
        return PAYLOAD_FAILED + why.encode()
    return out


def split(data, puts):
    step, extra = divmod(len(data), puts)
    chunks, start = [], 0
    for i in range(puts):
        end = start + step + (1 if i < extra else 0)
        chunks.append(data[start:end])
        start = end
    return chunks


def set_pipe_size(fd, size):
    """Resize a pipe; raise UsageError with the kernel's reason when it refuses."""
    try:
        fcntl.fcntl(fd, F_SETPIPE_SZ, size)
    except OSError as exc:
        raise UsageError(
            "the kernel refused pipe size %d (%s); use a power of two from 4096 up to "
            "/proc/sys/fs/pipe-max-size" % (size, os.strerror(exc.errno or 0))
        ) from None
    return fcntl.fcntl(fd, F_GETPIPE_SZ)


def pipe_capacity(fd):
    try:
        return fcntl.fcntl(fd, F_GETPIPE_SZ)
    except OSError:
        return None


# --- the child side: module-level functions, so that spawn and forkserver can import them ---


def child(q, digest, shell, size, puts, variant):
    say("CHILD: PID is %d" % os.getpid())
    data = read_payload(shell, size, wait_first=(variant == "popen_wait"))
    digest.value = hashlib.sha256(data).hexdigest().encode()
    for chunk in [data] if data.startswith(PAYLOAD_FAILED) else split(data, puts):
        if variant == "pipe":
            q.send_bytes(chunk)
        else:
            q.put(chunk)
    if variant == "cancel_join_thread":
        # A false fix: the child no longer waits for its feeder, and what is unsent is lost.
        q.cancel_join_thread()
    say("CHILD: All done! Goodbye!")


def executor_task(shell, size):
    say("CHILD: PID is %d" % os.getpid())
    data = read_payload(shell, size)
    say("CHILD: All done! Goodbye!")
    return hashlib.sha256(data).hexdigest(), data


# --- the parent side ---


def on_alarm(signum, frame):
    raise GetTimeout()


def bounded(call, seconds):
    """Run a blocking read with an alarm, since a half-sent message blocks ``get`` for ever."""
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def receive(q, puts, variant, seconds):
    received = []
    try:
        for _ in range(puts):
            if variant == "pipe":
                received.append(bounded(q.recv_bytes, seconds))
            elif variant == "simplequeue":
                received.append(bounded(q.get, seconds))
            else:
                received.append(bounded(lambda: q.get(timeout=seconds), seconds))
            if received[-1].startswith(PAYLOAD_FAILED):
                break
    except (GetTimeout, queue.Empty, EOFError, OSError):
        pass
    return received


def payload_failure(received):
    """Why the child's payload command failed, or None."""
    for chunk in received:
        if chunk.startswith(PAYLOAD_FAILED):
            return chunk[len(PAYLOAD_FAILED) :].decode(errors="replace")
    return None


def timed_join(proc, timeout):
    say("PARENT: Now joining process")
    start = time.monotonic()
    proc.join(timeout)
    took = time.monotonic() - start
    say("PARENT: Waited the child for %s" % ("%g" % timeout))
    alive = proc.is_alive()
    say("PARENT: Child is alive? True" if alive else "PARENT: Child process is gone")
    return took, alive


def make_channel(ctx, variant, pipe_size):
    """Return (send end for the child, receive end, keep-alive object, pipe fd or None)."""
    if variant == "pipe":
        recv_end, send_end = ctx.Pipe(duplex=False)
        return send_end, recv_end, None, send_end.fileno()
    if variant == "manager":
        manager = ctx.Manager()
        q = manager.Queue()
        return q, q, manager, None
    if variant == "simplequeue":
        q = ctx.SimpleQueue()
        return q, q, None, q._writer.fileno()
    q = ctx.Queue()
    return q, q, None, q._writer.fileno()


def run_executor(opts, result):
    """The pool variant: no join(T) here, result(T) is the wait; the pool reads as it goes."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout

    ctx = multiprocessing.get_context(opts.start_method)
    pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
    future = pool.submit(executor_task, opts.shell, opts.size)
    say("PARENT: Now waiting for the result")
    start = time.monotonic()
    try:
        child_digest, data = future.result(timeout=opts.timeout)
        received = [data]
    except FutureTimeout:
        child_digest, received = "", []
    result["join_seconds"] = time.monotonic() - start
    result["pid_child"] = next(iter(pool._processes), None)
    result["child_alive_after_join"] = not future.done()
    say("PARENT: Waited for the result for %.3f s" % result["join_seconds"])
    if not future.done():
        # A worker that never answers: stop it rather than wait in shutdown() for ever.
        for worker in list(pool._processes.values()):
            worker.terminate()
    pool.shutdown(wait=True)
    return child_digest, received


def run_process(opts, result):
    ctx = multiprocessing.get_context(opts.start_method)
    pipe_size = BIGPIPE_SIZE if opts.variant == "bigpipe" else opts.pipe_size
    send_end, recv_end, keep, fd = make_channel(ctx, opts.variant, pipe_size)
    if fd is not None:
        result["pipe_capacity"] = set_pipe_size(fd, pipe_size) if pipe_size else pipe_capacity(fd)
    digest = ctx.Array("c", 64, lock=False)
    proc = ctx.Process(
        target=child,
        args=(send_end, digest, opts.shell, opts.size, opts.puts, opts.variant),
    )
    proc.start()
    result["pid_child"] = proc.pid
    # popen_wait reads first too, so that its only deadlock is its own (bounded by T there).
    drain_first = opts.variant in ("fixed", "pipe", "popen_wait")
    received = []
    if drain_first:
        bound = opts.timeout if opts.variant == "popen_wait" else opts.get_timeout
        received = receive(recv_end, opts.puts, opts.variant, bound)
    took, alive = timed_join(proc, opts.timeout)
    result["join_seconds"] = took
    result["child_alive_after_join"] = alive
    if not drain_first:
        # With the child gone, everything it sent is already in the pipe: a short bound.
        seconds = min(opts.get_timeout, 5.0) if alive else 0.5
        received = receive(recv_end, opts.puts, opts.variant, seconds)
    proc.join(min(opts.get_timeout, 5.0))
    if proc.is_alive():
        # Still stuck (popen_wait never sends): do not leave an orphan behind.
        proc.terminate()
        proc.join()
    result["child_exitcode"] = proc.exitcode
    if keep is not None:
        keep.shutdown()
    return digest.value.decode(), received


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024 * 1024)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--variant", default="buggy")
    parser.add_argument("--start-method", default=None)
    parser.add_argument("--shell", default=DEFAULT_SHELL)
    parser.add_argument("--puts", type=int, default=1)
    parser.add_argument("--pipe-size", type=int, default=0)
    parser.add_argument("--get-timeout", type=float, default=30.0)
    opts = parser.parse_args(argv)
    if not 0 <= opts.size <= MAX_SIZE:
        raise UsageError("--size must be from 0 to %d bytes" % MAX_SIZE)
    if not opts.timeout > 0:
        raise UsageError("--timeout must be more than 0 seconds")
    if opts.variant not in VARIANTS:
        raise UsageError("unknown variant %r; choose one of: %s" % (opts.variant, ", ".join(VARIANTS)))
    methods = multiprocessing.get_all_start_methods()
    if opts.start_method is None:
        opts.start_method = multiprocessing.get_start_method()
    if opts.start_method not in methods:
        raise UsageError(
            "start method %r is not available in Python %s; choose one of: %s"
            % (opts.start_method, platform.python_version(), ", ".join(methods))
        )
    if not (os.path.isfile(opts.shell) and os.access(opts.shell, os.X_OK)):
        raise UsageError("shell %s does not exist or is not executable; pass --shell /bin/sh" % opts.shell)
    if opts.puts < 1:
        raise UsageError("--puts must be 1 or more")
    if opts.pipe_size < 0:
        raise UsageError("--pipe-size must be a positive number of bytes")
    return opts


def main(argv=None):
    try:
        opts = parse(argv)
        say("PARENT: PPID is %d" % os.getpid())
        result = {
            "pid_parent": os.getpid(),
            "variant": opts.variant,
            "size": opts.size,
            "puts": opts.puts,
            "start_method": opts.start_method,
            "timeout": opts.timeout,
            "python": platform.python_version(),
            "pipe_capacity": None,
        }
        start = time.monotonic()
        if opts.variant == "executor":
            child_digest, received = run_executor(opts, result)
        else:
            child_digest, received = run_process(opts, result)
    except UsageError as exc:
        sys.stderr.write("error: %s\n" % exc)
        return 2
    failed = payload_failure(received)
    if failed is not None:
        sys.stderr.write("payload command failed: %s\n" % failed)
        return EXIT_PAYLOAD_FAILED
    data = b"".join(received)
    say("PARENT: Received %d bytes" % len(data))
    result["bytes_received"] = len(data)
    result["messages_received"] = len(received)
    result["sha256_child"] = child_digest
    result["sha256_received"] = hashlib.sha256(data).hexdigest()
    result["sha256_match"] = result["sha256_received"] == child_digest
    result["wall_seconds"] = time.monotonic() - start
    say("RESULT " + json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
