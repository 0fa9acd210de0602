"""One queue per worker, every queue read before any join."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    queues = [multiprocessing.Queue() for _ in range(3)]
    procs = [multiprocessing.Process(target=work, args=(q,)) for q in queues]
    for p in procs:
        p.start()
    results = [q.get() for q in queues]
    for p in procs:
        p.join()
