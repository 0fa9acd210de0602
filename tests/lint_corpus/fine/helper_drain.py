"""A helper reads the results before the join."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


def collect(q, n):
    return [q.get() for _ in range(n)]


if __name__ == "__main__":
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    results = collect(q, 1)
    p.join()
