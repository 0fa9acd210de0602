# expect: live
# A loopback TCP server outside the tree (double-forked) answers after 2 s while the main
# process waits in recv().
import os
import socket
import time

r, w = os.pipe()
if os.fork() == 0:
    if os.fork() == 0:
        os.close(r)
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        os.write(w, str(srv.getsockname()[1]).encode())
        conn, _ = srv.accept()
        request = conn.recv(100)
        time.sleep(2)
        conn.sendall(request.upper())
        os._exit(0)
    os._exit(0)
os.wait()
os.close(w)
client = socket.create_connection(("127.0.0.1", int(os.read(r, 16))))
client.sendall(b"ping")
print("READY", flush=True)
client.recv(100)
