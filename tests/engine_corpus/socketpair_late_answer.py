# expect: live
# socket.socketpair and os.fork: the parent waits in recv() for the answer that the child
# sends after 2 s.
import os
import socket
import time

parent, child = socket.socketpair()
pid = os.fork()
if pid == 0:
    parent.close()
    request = child.recv(100)
    time.sleep(2)
    child.sendall(request.upper())
    os._exit(0)
child.close()
parent.sendall(b"ping")
print("READY", flush=True)
parent.recv(100)
os.waitpid(pid, 0)
