"""A loop that reads and joins with a short timeout in turn, until the child is gone."""

import contextlib
import multiprocessing
import queue


def work(q):
    for _ in range(4):
        q.put(b"x" * (1 << 18))


if __name__ == "__main__":
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    received = []
    while p.is_alive() or not q.empty():
        p.join(timeout=0.01)
        with contextlib.suppress(queue.Empty):
            received.append(q.get(timeout=0.01))
