# expect: deadlocked
# A duplex Pipe: the child waits in recv() while the parent sits in join(600) before sending.
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
    p.join(600)
    here.send(21)
    here.recv()
