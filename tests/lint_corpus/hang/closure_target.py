"""The target is a closure over the queue (fork)."""

import multiprocessing


def main():
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()

    def child():
        q.put(b"x" * (1 << 20))

    p = ctx.Process(target=child)
    p.start()
    p.join()  # expect: JS101
    return q.get()


if __name__ == "__main__":
    main()
