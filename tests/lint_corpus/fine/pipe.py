"""A Pipe (no queue) read before the join: the seed's pipe variant."""

import multiprocessing


def work(conn):
    conn.send_bytes(b"x" * (1 << 20))


if __name__ == "__main__":
    recv_end, send_end = multiprocessing.Pipe(duplex=False)
    p = multiprocessing.Process(target=work, args=(send_end,))
    p.start()
    data = recv_end.recv_bytes()
    p.join()
