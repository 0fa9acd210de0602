# expect: live
# A ProcessPoolExecutor worker is killed 2 s into its task: the future raises
# BrokenProcessPool and the program ends.
import concurrent.futures as cf
import multiprocessing as mp
import os
import signal
import sys
import threading
import time

pids = None


def init(q):
    global pids
    pids = q


def task():
    pids.put(os.getpid())
    time.sleep(30)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    ex = cf.ProcessPoolExecutor(1, initializer=init, initargs=(q,))
    fut = ex.submit(task)
    threading.Timer(2, os.kill, (q.get(), signal.SIGKILL)).start()
    print("READY", flush=True)
    try:
        fut.result()
    except cf.process.BrokenProcessPool:
        pass
    ex.shutdown()
