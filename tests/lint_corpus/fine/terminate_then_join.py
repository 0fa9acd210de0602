"""A worker that never ends is terminated, then joined: no stall (its output is not wanted)."""

import multiprocessing
import time


def work(q):
    q.put(b"x" * (1 << 20))
    time.sleep(60)


if __name__ == "__main__":
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    time.sleep(0.2)
    p.terminate()
    p.join()
    print(q.empty())
