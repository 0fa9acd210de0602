"""A SimpleQueue has no feeder: the child blocks in put() itself, and still cannot exit."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    q = multiprocessing.SimpleQueue()
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    p.join()  # expect: JS101
    data = q.get()
