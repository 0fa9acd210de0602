"""A Process subclass that receives the queue through its constructor."""

import multiprocessing


class Worker(multiprocessing.Process):
    def __init__(self, out):
        super().__init__()
        self.out = out

    def run(self):
        self.out.put(b"x" * (1 << 20))


if __name__ == "__main__":
    q = multiprocessing.Queue()
    w = Worker(q)
    w.start()
    w.join()  # expect: JS101
    data = q.get()
