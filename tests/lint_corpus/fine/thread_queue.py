"""queue.Queue with a thread: no pipe, no feeder, nothing to stall."""

import queue
import threading


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    q = queue.Queue()
    t = threading.Thread(target=work, args=(q,))
    t.start()
    t.join()
    data = q.get()
