# expect: live
# A drain thread paced by a control queue of its own process (`ctrl.get(timeout=T)`, a timed
# poll of a pipe its process also writes), beside a main thread that joins the child.
import multiprocessing as mp
import queue
import sys
import threading


def work(q):
    for _ in range(3):
        q.put(b"x" * 300_000)


def drain(q, ctrl):
    while True:
        try:
            if ctrl.get(timeout=1.5) == "stop":
                return
        except queue.Empty:
            q.get()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q, ctrl = mp.Queue(), mp.Queue()
    t = threading.Thread(target=drain, args=(q, ctrl))
    t.start()
    p = mp.Process(target=work, args=(q,))
    p.start()
    print("READY", flush=True)
    p.join()
    ctrl.put("stop")
    t.join()
