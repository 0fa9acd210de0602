"""A Process subclass that makes its own result queue; the parent reads it after the join."""

import multiprocessing


class Worker(multiprocessing.Process):
    def __init__(self, size):
        super().__init__()
        self.size = size
        self.results = multiprocessing.Queue()

    def run(self):
        self.results.put(b"x" * self.size)


if __name__ == "__main__":
    w = Worker(1 << 20)
    w.start()
    w.join()  # expect: JS101
    data = w.results.get()
