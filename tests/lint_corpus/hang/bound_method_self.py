"""The target is a bound method of an object that holds the queue in an attribute."""

import multiprocessing

ctx = multiprocessing.get_context("fork")


class Job:
    def __init__(self, size):
        self.size = size
        self.q = ctx.Queue()

    def start(self):
        self.p = ctx.Process(target=self.work)
        self.p.start()

    def work(self):
        self.q.put(b"x" * self.size)

    def finish(self):
        self.p.join()  # expect: JS101
        return self.q.get()


if __name__ == "__main__":
    job = Job(1 << 20)
    job.start()
    job.finish()
