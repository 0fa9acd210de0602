"""A runner keeps the queue and its workers on self; one method joins, then reads."""

import multiprocessing


def work(q, n):
    q.put(b"x" * n)


class Runner:
    def __init__(self, workers):
        self.results = multiprocessing.Queue()
        self.workers = [
            multiprocessing.Process(target=work, args=(self.results, 1 << 19)) for _ in range(workers)
        ]

    def run(self):
        for w in self.workers:
            w.start()
        for w in self.workers:
            w.join()  # expect: JS101
        return [self.results.get() for _ in self.workers]


if __name__ == "__main__":
    Runner(2).run()
