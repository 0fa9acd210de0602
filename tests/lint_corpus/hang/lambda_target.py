"""The target is a lambda that puts into the queue (fork)."""

import multiprocessing

if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=lambda: q.put(b"x" * (1 << 20)))
    p.start()
    p.join(20)  # expect: JS101
    data = q.get()
