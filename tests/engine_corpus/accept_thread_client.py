# expect: live
# A server waits in accept() while its client, a thread, sleeps 2.5 s before connecting.
import socket
import threading
import time

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)


def client():
    time.sleep(2.5)
    with socket.create_connection(srv.getsockname()) as c:
        c.sendall(b"ping")


t = threading.Thread(target=client)
t.start()
print("READY", flush=True)
conn, _ = srv.accept()
conn.recv(100)
t.join()
