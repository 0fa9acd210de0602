"""A JoinableQueue stalls like a Queue: it has the same feeder thread."""

from multiprocessing import JoinableQueue, Process


def work(q):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    q = JoinableQueue()
    p = Process(target=work, args=(q,))
    p.start()
    p.join()  # expect: JS101
    item = q.get()
    q.task_done()
