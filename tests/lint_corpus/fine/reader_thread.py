"""A reader thread drains the queue while the parent joins."""

import multiprocessing
import threading


def work(q):
    q.put(b"x" * (1 << 20))


def drain(q, out):
    out.append(q.get())


if __name__ == "__main__":
    q = multiprocessing.Queue()
    out = []
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    reader = threading.Thread(target=drain, args=(q, out))
    reader.start()
    p.join()
    reader.join()
