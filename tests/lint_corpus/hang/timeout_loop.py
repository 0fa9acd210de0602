"""Each join has a timeout, but nothing reads until after the loop: every join waits it out."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=work, args=(q,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)  # expect: JS101
    results = [q.get() for _ in procs]
