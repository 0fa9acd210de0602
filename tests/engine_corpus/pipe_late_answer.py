# expect: live
# A duplex Pipe: the parent waits in recv() for the answer that the child sends after 2 s.
import multiprocessing as mp
import sys
import time


def serve(conn):
    request = conn.recv()
    time.sleep(2)
    conn.send(request * 2)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    here, there = mp.Pipe()
    p = mp.Process(target=serve, args=(there,))
    p.start()
    here.send(21)
    print("READY", flush=True)
    here.recv()
    p.join()
