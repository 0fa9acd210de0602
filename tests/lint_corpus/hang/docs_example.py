"""The example from the multiprocessing docs ("Joining processes that use queues")."""

from multiprocessing import Process, Queue


def f(q):
    q.put("X" * 1000000)


if __name__ == "__main__":
    queue = Queue()
    p = Process(target=f, args=(queue,))
    p.start()
    p.join()  # this deadlocks  # expect: JS101
    obj = queue.get()
