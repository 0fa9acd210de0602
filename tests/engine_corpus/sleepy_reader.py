# expect: live
# The parent sleeps between recv_bytes() calls: a full pipe and a blocked writer, but live.
import multiprocessing as mp
import sys
import time


def child(w, size):
    for _ in range(3):
        w.send_bytes(b"y" * size)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 65536
    r, w = mp.Pipe(duplex=False)
    p = mp.Process(target=child, args=(w, size))
    p.start()
    print("READY", flush=True)
    for _ in range(3):
        time.sleep(1.5)
        r.recv_bytes()
    p.join()
