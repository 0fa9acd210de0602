"""Workers in a dict by name; the joins go over .values()."""

import multiprocessing


def work(name, q):
    q.put((name, b"x" * (1 << 19)))


if __name__ == "__main__":
    q = multiprocessing.Queue()
    workers = {name: multiprocessing.Process(target=work, args=(name, q)) for name in ("a", "b")}
    for w in workers.values():
        w.start()
    for w in workers.values():
        w.join()  # expect: JS101
    results = dict(q.get() for _ in workers)
