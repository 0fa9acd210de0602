# expect: live
# A helper process of the tree sends SIGUSR1 ("flush now") after a while; the handler drains
# the queue while the main thread sits in p.join().
import multiprocessing as mp
import os
import signal
import subprocess
import sys

got = []


def work(q):
    for _ in range(3):
        q.put(b"x" * 300_000)


def on_usr1(signum, frame):
    while len(got) < 3:
        got.append(q.get())


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    signal.signal(signal.SIGUSR1, on_usr1)
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    helper = subprocess.Popen(["sh", "-c", f"sleep 2; kill -USR1 {os.getpid()}"])
    print("READY", flush=True)
    p.join()
    helper.wait()
