# expect: live
# A Manager queue: the parent waits in get() while another process puts after 2 s.
import multiprocessing as mp
import sys
import time


def produce(q):
    time.sleep(2)
    q.put("done")


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    with mp.Manager() as manager:
        q = manager.Queue()
        p = mp.Process(target=produce, args=(q,))
        p.start()
        print("READY", flush=True)
        q.get()
        p.join()
