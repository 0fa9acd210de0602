# expect: live
# Loopback TCP in one process: the client (the main thread) waits in recv() while the server
# thread sleeps 2 s before answering.
import socket
import threading
import time

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)


def serve():
    conn, _ = srv.accept()
    request = conn.recv(100)
    time.sleep(2)
    conn.sendall(request.upper())
    conn.close()


t = threading.Thread(target=serve)
t.start()
client = socket.create_connection(srv.getsockname())
client.sendall(b"ping")
print("READY", flush=True)
client.recv(100)
t.join()
