"""Module level (fork), read before the join."""

import multiprocessing

multiprocessing.set_start_method("fork")


def work(q):
    q.put(b"x" * (1 << 20))


q = multiprocessing.Queue()
p = multiprocessing.Process(target=work, args=(q,))
p.start()
data = q.get()
p.join()
