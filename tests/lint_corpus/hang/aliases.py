"""Imported under other names."""

import multiprocessing as mp
from multiprocessing import Queue as MPQueue


def produce(sink):
    sink.put(b"x" * (1 << 20))


if __name__ == "__main__":
    sink = MPQueue()
    proc = mp.Process(target=produce, args=[sink])
    proc.start()
    proc.join()  # expect: JS101
    payload = sink.get()
