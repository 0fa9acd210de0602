# expect: deadlocked
# Loopback TCP in one process: the server thread waits for a request, the client (the main
# thread) for a greeting.
import socket
import threading

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)


def serve():
    conn, _ = srv.accept()
    conn.sendall(conn.recv(100).upper())


t = threading.Thread(target=serve)
t.start()
client = socket.create_connection(srv.getsockname())
print("READY", flush=True)
client.recv(100)
t.join()
