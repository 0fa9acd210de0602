"""The docs' example with the two lines swapped, as the docs advise."""

from multiprocessing import Process, Queue


def f(q):
    q.put("X" * 1000000)


if __name__ == "__main__":
    queue = Queue()
    p = Process(target=f, args=(queue,))
    p.start()
    obj = queue.get()
    p.join()
