# expect: live
# A server waits in accept() for a client outside the tree (double-forked) that connects after
# 2.5 s.
import os
import socket
import time

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
if os.fork() == 0:
    if os.fork() == 0:
        addr = srv.getsockname()
        srv.close()
        time.sleep(2.5)
        with socket.create_connection(addr) as c:
            c.sendall(b"ping")
        os._exit(0)
    os._exit(0)
os.wait()
print("READY", flush=True)
conn, _ = srv.accept()
conn.recv(100)
