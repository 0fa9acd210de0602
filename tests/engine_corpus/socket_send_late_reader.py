# expect: live
# socket.socketpair and os.fork: the parent blocks sending 4 MB on a full socket buffer; the
# child starts reading after 2 s.
import os
import socket
import time

SIZE = 4_000_000
parent, child = socket.socketpair()
pid = os.fork()
if pid == 0:
    parent.close()
    time.sleep(2)
    got = 0
    while got < SIZE:
        chunk = child.recv(1 << 16)
        if not chunk:
            break
        got += len(chunk)
    os._exit(0)
child.close()
print("READY", flush=True)
parent.sendall(b"x" * SIZE)
os.waitpid(pid, 0)
