"""The joins happen in a list comprehension."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=work, args=(q,)) for _ in range(2)]
    for p in procs:
        p.start()
    [p.join() for p in procs]  # expect: JS101
    data = [q.get() for _ in procs]
