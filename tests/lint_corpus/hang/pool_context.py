"""A pool from a spawn context, its queue from the same context."""

import multiprocessing

sink = None


def init(q):
    global sink
    sink = q


def work(i):
    sink.put(b"x" * (1 << 20))
    return i


def main():
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    pool = ctx.Pool(processes=1, initializer=init, initargs=(q,))
    pool.apply_async(work, (0,))
    pool.close()
    pool.join()  # expect: JS103
    return q.get()


if __name__ == "__main__":
    main()
