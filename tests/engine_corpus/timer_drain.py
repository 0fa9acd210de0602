# expect: live
# A threading.Timer drains the queue later (its thread waits in Event.wait(T), which the main
# thread could cut short), while the main thread joins the producer.
import multiprocessing as mp
import sys
import threading


def work(q):
    for _ in range(3):
        q.put(b"x" * 300_000)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    t = threading.Timer(1.5, lambda: [q.get() for _ in range(3)])
    t.start()
    print("READY", flush=True)
    p.join()
    t.join()
