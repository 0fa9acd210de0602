# expect: live
# A pool whose workers put into a shared queue that a drain thread empties: it finishes.
import multiprocessing as mp
import sys
import threading
import time

queue = None


def init(q):
    global queue
    queue = q


def task(i):
    time.sleep(0.3)
    queue.put(b"x" * 200_000)


def drain(q, n):
    for _ in range(n):
        time.sleep(0.2)
        q.get()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    n = 8
    q = mp.Queue()
    t = threading.Thread(target=drain, args=(q, n))
    t.start()
    with mp.Pool(4, initializer=init, initargs=(q,)) as pool:
        print("READY", flush=True)
        pool.map(task, range(n))
        pool.close()
        pool.join()
    t.join()
