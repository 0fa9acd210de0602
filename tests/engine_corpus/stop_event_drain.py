# expect: live
# A drain thread paced by a stop event (`while not stop.wait(T): get()`), beside a main thread
# that joins the child: the event's timeout is the thread's step, and it reads when it ends.
import multiprocessing as mp
import sys
import threading


def work(q):
    for _ in range(3):
        q.put(b"x" * 300_000)


def drain(q, stop):
    while not stop.wait(1.5):
        q.get()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    stop = threading.Event()
    t = threading.Thread(target=drain, args=(q, stop))
    t.start()
    p = mp.Process(target=work, args=(q,))
    p.start()
    print("READY", flush=True)
    p.join()
    stop.set()
    t.join()
