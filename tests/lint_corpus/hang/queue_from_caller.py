"""The queue comes in as a parameter. The lint cannot tell it from a Manager queue (fine to
join first) without following the caller, so it stays silent: a known miss."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


def run(q):
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    p.join()  # expect: JS101
    return q.get()


if __name__ == "__main__":
    run(multiprocessing.Queue())
