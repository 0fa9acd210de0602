"""The child reaches the queue as a global it inherits (fork), not through its arguments."""

import multiprocessing


def work():
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=work)
    p.start()
    p.join()  # expect: JS101
    data = q.get()
