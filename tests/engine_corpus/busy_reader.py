# expect: live
# The reader computes (holding the GIL) before it reads: running, not hung.
import multiprocessing as mp
import sys
import time


def work(q):
    q.put(b"x" * 1_000_000)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    print("READY", flush=True)
    end = time.monotonic() + 3
    while time.monotonic() < end:
        sum(range(1000))
    q.get()
    p.join()
