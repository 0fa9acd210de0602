# expect: live
# A duplex Pipe: the child waits in recv(); the parent sends the request after 2 s, then joins.
import multiprocessing as mp
import sys
import time


def serve(conn):
    request = conn.recv()
    conn.send(request * 2)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    here, there = mp.Pipe()
    p = mp.Process(target=serve, args=(there,))
    p.start()
    print("READY", flush=True)
    time.sleep(2)
    here.send(21)
    here.recv()
    p.join()
