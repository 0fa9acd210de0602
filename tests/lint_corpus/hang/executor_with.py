"""A ProcessPoolExecutor's with block waits for its workers at exit, before the queue is read."""

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Queue

results = None


def init(q):
    global results
    results = q


def work():
    results.put(b"x" * (1 << 20))


if __name__ == "__main__":
    q = Queue()
    with ProcessPoolExecutor(max_workers=1, initializer=init, initargs=(q,)) as ex:  # expect: JS103
        ex.submit(work).result()
    data = q.get()
