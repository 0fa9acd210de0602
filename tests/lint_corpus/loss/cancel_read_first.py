"""The false fix even with the parent reading first: the child exits before its feeder is done.

Exit status 3 when data was lost, 0 when all of it arrived.
"""

import multiprocessing
import signal
import sys

SIZE = 1 << 22


def work(q):
    q.put(b"x" * SIZE)
    q.cancel_join_thread()  # expect: JS104


def on_alarm(signum, frame):
    raise TimeoutError


if __name__ == "__main__":
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(2)
    try:
        data = q.get(timeout=1)
    except Exception:
        data = b""
    signal.alarm(0)
    p.join()
    sys.exit(0 if len(data) == SIZE else 3)
