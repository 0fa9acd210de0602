# expect: live
# The reader sleeps before its first read.
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
    time.sleep(3)
    q.get()
    p.join()
