"""multiprocessing.dummy runs threads: its Queue is queue.Queue and joins first are fine."""

from multiprocessing.dummy import Process, Queue


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    q = Queue()
    p = Process(target=work, args=(q,))
    p.start()
    p.join()
    data = q.get()
