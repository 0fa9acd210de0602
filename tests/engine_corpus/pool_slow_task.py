# expect: live
# The parent waits in Pool.map() while the two tasks sleep 2.5 s.
import multiprocessing as mp
import sys
import time


def nap(seconds):
    time.sleep(seconds)
    return seconds


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    pool = mp.Pool(2)
    print("READY", flush=True)
    pool.map(nap, [2.5, 2.5])
    pool.close()
    pool.join()
