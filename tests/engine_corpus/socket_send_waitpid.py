# expect: stalled
# socket.socketpair and os.fork: the child sends 4 MB, far more than the socket buffers hold;
# the parent waits for its exit before reading.
import os
import socket

parent, child = socket.socketpair()
pid = os.fork()
if pid == 0:
    parent.close()
    child.sendall(b"x" * 4_000_000)
    os._exit(0)
child.close()
print("READY", flush=True)
os.waitpid(pid, 0)
parent.recv(1)
