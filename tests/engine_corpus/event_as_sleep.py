# expect: live
# The reader "sleeps" with Event().wait(timeout) between reads: a timed wait nobody can end early.
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
    pause = threading.Event()
    print("READY", flush=True)
    for _ in range(3):
        pause.wait(1.2)
        q.get()
    p.join()
