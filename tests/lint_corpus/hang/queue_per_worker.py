"""One queue per worker, joined and read pairwise in one loop (zip)."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    queues = [multiprocessing.Queue() for _ in range(3)]
    procs = [multiprocessing.Process(target=work, args=(queues[i],)) for i in range(3)]
    for p in procs:
        p.start()
    results = []
    for p, q in zip(procs, queues, strict=True):
        p.join()  # expect: JS101
        results.append(q.get())
