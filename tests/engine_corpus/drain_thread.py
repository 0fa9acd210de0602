# expect: live
# A drain thread reads slowly while the main thread joins the child: a correct program.
import multiprocessing as mp
import sys
import threading
import time


def work(q):
    for _ in range(4):
        q.put(b"x" * 200_000)


def drain(q):
    for _ in range(4):
        time.sleep(0.8)
        q.get()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    t = threading.Thread(target=drain, args=(q,))
    t.start()
    print("READY", flush=True)
    p.join()
    t.join()
