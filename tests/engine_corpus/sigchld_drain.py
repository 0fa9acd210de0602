# expect: live
# A helper child sleeps and exits; the parent's SIGCHLD handler then drains the queue while
# the main thread sits in p.join() on the producer.
import multiprocessing as mp
import signal
import sys
import time

got = []


def work(q):
    for _ in range(3):
        q.put(b"x" * 300_000)


def on_child(signum, frame):
    while len(got) < 3:
        got.append(q.get())


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    signal.signal(signal.SIGCHLD, on_child)
    helper = mp.Process(target=time.sleep, args=(1.5,))
    helper.start()
    print("READY", flush=True)
    p.join()
    helper.join()
