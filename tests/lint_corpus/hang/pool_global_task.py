"""The task function writes to a global queue the fork workers inherited."""

import multiprocessing


def work(i):
    q.put(b"x" * (1 << 20))


if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    with ctx.Pool(1) as pool:
        pool.map(work, [0])
        pool.close()
        pool.join()  # expect: JS103
        data = q.get()
