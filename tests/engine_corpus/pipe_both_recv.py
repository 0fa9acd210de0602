# expect: deadlocked
# A duplex Pipe where each side waits for the other to speak first: the child for a request,
# the parent for a greeting.
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
    greeting = here.recv()
    here.send(21)
    p.join()
