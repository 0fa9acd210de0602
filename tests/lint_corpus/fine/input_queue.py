"""The parent only puts (work for the child) and joins; it never reads that queue."""

import multiprocessing


def work(tasks, done):
    total = 0
    while (item := tasks.get()) is not None:
        total += len(item)
    done.value = total


if __name__ == "__main__":
    tasks = multiprocessing.Queue()
    done = multiprocessing.Value("q", 0)
    p = multiprocessing.Process(target=work, args=(tasks, done))
    p.start()
    for _ in range(4):
        tasks.put(b"x" * (1 << 18))
    tasks.put(None)
    p.join()
    assert done.value == 1 << 20
