"""A Manager queue as a task argument; the pool is joined before the read, which is fine."""

import multiprocessing


def work(q, i):
    q.put((i, b"x" * (1 << 19)))


if __name__ == "__main__":
    with multiprocessing.Manager() as manager:
        q = manager.Queue()
        pool = multiprocessing.Pool(2)
        pool.starmap(work, [(q, i) for i in range(2)])
        pool.close()
        pool.join()
        results = [q.get() for _ in range(2)]
