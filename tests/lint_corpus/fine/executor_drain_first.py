"""A ProcessPoolExecutor with a queue in initargs, read inside the with block."""

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
    with ProcessPoolExecutor(max_workers=1, initializer=init, initargs=(q,)) as ex:
        ex.submit(work)
        data = q.get()
