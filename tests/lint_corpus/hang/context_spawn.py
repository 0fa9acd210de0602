"""A spawn context's Queue and Process."""

import multiprocessing as mp


def work(q):
    q.put(b"x" * (1 << 20))


def main():
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=work, args=(q,))
    p.start()
    p.join()  # expect: JS101
    print(len(q.get()))


if __name__ == "__main__":
    main()
