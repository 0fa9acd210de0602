"""Read one result per worker, then join them all."""

import multiprocessing


def work(q, i):
    q.put((i, b"x" * (1 << 18)))


if __name__ == "__main__":
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=work, args=(q, i)) for i in range(4)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
