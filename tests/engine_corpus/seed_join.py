# expect: stalled
# The seed: join() with no timeout before get(); the child's feeder blocks on the full pipe.
import multiprocessing as mp
import sys


def work(q):
    q.put(b"x" * 1_000_000)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    q = mp.Queue()
    p = mp.Process(target=work, args=(q,))
    p.start()
    print("READY", flush=True)
    p.join()
    q.get()
