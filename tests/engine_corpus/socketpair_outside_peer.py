# expect: live
# The main process waits in recv() on a socketpair whose other end only a double-forked process
# (outside the tree) holds; it answers after 2 s.
import os
import socket
import time

mine, theirs = socket.socketpair()
if os.fork() == 0:
    if os.fork() == 0:
        mine.close()
        request = theirs.recv(100)
        time.sleep(2)
        theirs.sendall(request.upper())
        os._exit(0)
    os._exit(0)
theirs.close()
os.wait()
mine.sendall(b"ping")
print("READY", flush=True)
mine.recv(100)
