"""A Manager queue keeps the data in the manager's process: joining first is fine."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    with multiprocessing.Manager() as manager:
        q = manager.Queue()
        p = multiprocessing.Process(target=work, args=(q,))
        p.start()
        p.join()
        data = q.get()
