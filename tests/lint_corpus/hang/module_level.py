"""Module level, no main guard (fork): join, then get."""

import multiprocessing

multiprocessing.set_start_method("fork")


def work(q):
    q.put(b"x" * (1 << 20))


q = multiprocessing.Queue()
p = multiprocessing.Process(target=work, args=(q,))
p.start()
p.join()  # expect: JS101
data = q.get()
