# expect: live
# A SIGALRM handler drains the queue while the main thread sits in p.join(): an armed alarm
# (invisible from outside) ends the wait, so a handled SIGALRM keeps the cycle open.
import multiprocessing as mp
import signal
import sys

got = []


def work(q):
    for _ in range(3):
        q.put(b"x" * 300_000)


def on_alarm(signum, frame):
    while len(got) < 3:
        got.append(q.get())


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(2)
    print("READY", flush=True)
    p.join()
