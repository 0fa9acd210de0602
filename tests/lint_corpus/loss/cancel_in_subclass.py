"""The false fix inside a Process subclass's run().

Exit status 3 when data was lost, 0 when all of it arrived.
"""

import multiprocessing
import signal
import sys

SIZE = 1 << 20


class Worker(multiprocessing.Process):
    def __init__(self, q):
        super().__init__()
        self.q = q

    def run(self):
        self.q.put(b"x" * SIZE)
        self.q.cancel_join_thread()  # expect: JS104


def on_alarm(signum, frame):
    raise TimeoutError


if __name__ == "__main__":
    q = multiprocessing.Queue()
    w = Worker(q)
    w.start()
    w.join()  # expect: JS101
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(2)
    try:
        data = q.get(timeout=1)
    except Exception:
        data = b""
    sys.exit(0 if len(data) == SIZE else 3)
