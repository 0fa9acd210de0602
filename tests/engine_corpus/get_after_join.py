# expect: deadlocked
# get() on an empty queue after join(): the child sent nothing and has exited.
import multiprocessing as mp
import sys


def work(q):
    pass


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    p.join()
    print("READY", flush=True)
    q.get()
