# expect: live
# The parent drains a Queue slowly, many messages, sleeping between get() calls.
import multiprocessing as mp
import sys
import time


def work(q):
    for _ in range(40):
        q.put(b"x" * 8192)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    print("READY", flush=True)
    for _ in range(40):
        time.sleep(0.08)
        q.get()
    p.join()
