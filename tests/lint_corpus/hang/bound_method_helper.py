"""The target is a bound method of a helper object built with the queue."""

import multiprocessing


class Producer:
    def __init__(self, q, size):
        self.q = q
        self.size = size

    def run(self):
        self.q.put(b"x" * self.size)


if __name__ == "__main__":
    q = multiprocessing.Queue()
    producer = Producer(q, 1 << 20)
    p = multiprocessing.Process(target=producer.run)
    p.start()
    p.join()  # expect: JS101
    data = q.get()
