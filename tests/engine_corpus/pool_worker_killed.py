# expect: deadlocked
# A Pool worker is killed while it runs a task: the pool replaces it, the task is lost, and the
# parent waits for its result for ever (bpo-22393).
import multiprocessing as mp
import os
import signal
import sys
import time

pids = None


def init(q):
    global pids
    pids = q


def task(x):
    pids.put(os.getpid())
    time.sleep(10)
    return x


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    pool = mp.Pool(2, initializer=init, initargs=(q,))
    result = pool.apply_async(task, (1,))
    os.kill(q.get(), signal.SIGKILL)
    print("READY", flush=True)
    result.get()
