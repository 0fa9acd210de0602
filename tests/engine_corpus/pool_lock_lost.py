# expect: deadlocked
# Pool(1): the idle worker is killed while it holds the task queue's read lock; its replacement
# waits for that lock for ever, and so does map() (gh-96062).
import multiprocessing as mp
import os
import signal
import sys
import time

if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    pool = mp.Pool(1)
    worker = pool.apply(os.getpid)
    rlock = pool._inqueue._rlock
    while rlock.acquire(False):  # until the idle worker holds it, waiting for a task
        rlock.release()
        time.sleep(0.05)
    os.kill(worker, signal.SIGKILL)
    # Until the pool has replaced it: map() on a pool with no worker divides by zero.
    while [p.pid for p in pool._pool] in ([], [worker]):
        time.sleep(0.05)
    print("READY", flush=True)
    pool.map(abs, range(4))
