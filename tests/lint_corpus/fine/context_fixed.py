"""A spawn context, read before the join."""

import multiprocessing as mp


def work(q):
    q.put(b"x" * (1 << 20))


def main():
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=work, args=(q,))
    p.start()
    data = q.get()
    p.join()
    return data


if __name__ == "__main__":
    main()
