# expect: stalled
# Pool workers put into a shared queue; the parent closes and joins the pool before draining.
import multiprocessing as mp
import sys

queue = None


def init(q):
    global queue
    queue = q


def task(i):
    queue.put(b"x" * 200_000)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    q = mp.Queue()
    pool = mp.Pool(workers, initializer=init, initargs=(q,))
    pool.map(task, range(workers))
    pool.close()
    print("READY", flush=True)
    pool.join()
    q.get()
