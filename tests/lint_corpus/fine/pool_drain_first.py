"""A Pool with a queue in initargs, drained before close() and join()."""

import multiprocessing

out = None


def init(q):
    global out
    out = q


def work(i):
    out.put((i, b"x" * (1 << 19)))


if __name__ == "__main__":
    q = multiprocessing.Queue()
    pool = multiprocessing.Pool(2, initializer=init, initargs=(q,))
    pool.map_async(work, range(2))
    results = [q.get() for _ in range(2)]
    pool.close()
    pool.join()
