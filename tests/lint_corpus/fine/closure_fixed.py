"""A closure target (fork), read before the join."""

import multiprocessing


def main():
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()

    def child():
        q.put(b"x" * (1 << 20))

    p = ctx.Process(target=child)
    p.start()
    data = q.get()
    p.join()
    return data


if __name__ == "__main__":
    main()
