"""A Pool whose workers get the queue through initargs; closed and joined before the read."""

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
    pool.map(work, range(2))
    pool.close()
    pool.join()  # expect: JS103
    results = [q.get() for _ in range(2)]
