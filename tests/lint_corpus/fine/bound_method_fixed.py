"""A job that keeps its queue on self and reads it before the join."""

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
        data = self.q.get()
        self.p.join()
        return data


if __name__ == "__main__":
    job = Job(1 << 20)
    job.start()
    job.finish()
