# expect: deadlocked
# Loopback TCP: a child server accepts and waits in recv(); the parent connects, then joins the
# child before sending its request.
import multiprocessing as mp
import socket
import sys


def serve(ports):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    ports.put(srv.getsockname()[1])
    conn, _ = srv.accept()
    conn.sendall(conn.recv(100).upper())


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    ports = mp.Queue()
    p = mp.Process(target=serve, args=(ports,))
    p.start()
    client = socket.create_connection(("127.0.0.1", ports.get()))
    print("READY", flush=True)
    p.join()
    client.sendall(b"ping")
    client.recv(100)
