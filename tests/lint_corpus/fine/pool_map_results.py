"""Pool.map returns the results; no queue at all."""

import multiprocessing


def work(i):
    return b"x" * (1 << 19)


if __name__ == "__main__":
    pool = multiprocessing.Pool(2)
    results = pool.map(work, range(2))
    pool.close()
    pool.join()
