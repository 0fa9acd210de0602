"""Processes appended to a list in a loop; the leftovers drained with empty()/get()."""

import multiprocessing


def work(q, n):
    q.put(b"x" * n)


def main():
    q = multiprocessing.Queue()
    workers = []
    for _ in range(3):
        w = multiprocessing.Process(target=work, args=(q, 1 << 19))
        w.start()
        workers.append(w)
    for w in workers:
        w.join()  # expect: JS101
    out = []
    while not q.empty():
        out.append(q.get())
    return out


if __name__ == "__main__":
    main()
