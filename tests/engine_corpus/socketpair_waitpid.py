# expect: deadlocked
# socket.socketpair and os.fork: the child waits in recv(); the parent waits for its exit before
# sending.
import os
import socket

parent, child = socket.socketpair()
pid = os.fork()
if pid == 0:
    parent.close()
    child.sendall(child.recv(100).upper())
    os._exit(0)
child.close()
print("READY", flush=True)
os.waitpid(pid, 0)
parent.sendall(b"ping")
