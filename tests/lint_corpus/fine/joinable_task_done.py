"""JoinableQueue.join() waits for task_done(), not for a process; results are read first."""

import multiprocessing


def work(tasks, results):
    while True:
        item = tasks.get()
        if item is None:
            tasks.task_done()
            break
        results.put(b"x" * item)
        tasks.task_done()


if __name__ == "__main__":
    tasks = multiprocessing.JoinableQueue()
    results = multiprocessing.Queue()
    p = multiprocessing.Process(target=work, args=(tasks, results))
    p.start()
    tasks.put(1 << 20)
    data = results.get()
    tasks.put(None)
    tasks.join()
    p.join()
