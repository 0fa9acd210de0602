# expect: live
# Pool(2, maxtasksperchild=1) runs six tasks: each worker exits after one, the pool replaces it.
import multiprocessing as mp
import sys
import time


def nap(seconds):
    time.sleep(seconds)
    return seconds


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    pool = mp.Pool(2, maxtasksperchild=1)
    print("READY", flush=True)
    pool.map(nap, [0.7] * 6)
    pool.close()
    pool.join()
