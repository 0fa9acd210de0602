# expect: deadlocked
# A duplex Pipe: the child waits in recv() for a request that the parent sends only after join().
import multiprocessing as mp
import sys


def serve(conn):
    request = conn.recv()
    conn.send(request * 2)


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    here, there = mp.Pipe()
    p = mp.Process(target=serve, args=(there,))
    p.start()
    print("READY", flush=True)
    p.join()
    here.send(21)
    here.recv()
