"""The child never receives the queue: the parent fills and reads it itself."""

import multiprocessing


def compute(n):
    sum(range(n))


if __name__ == "__main__":
    q = multiprocessing.Queue()
    q.put(b"x" * (1 << 20))
    p = multiprocessing.Process(target=compute, args=(1000,))
    p.start()
    p.join()
    data = q.get()
