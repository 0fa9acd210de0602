"""SimpleQueue, read before the join."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    q = multiprocessing.SimpleQueue()
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    data = q.get()
    p.join()
