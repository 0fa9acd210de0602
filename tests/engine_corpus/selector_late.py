# expect: live
# A selectors loop (epoll) on a socketpair whose other end, in a child, writes after 2 s.
import os
import selectors
import socket
import time

parent, child = socket.socketpair()
pid = os.fork()
if pid == 0:
    parent.close()
    time.sleep(2)
    child.sendall(b"ping")
    os._exit(0)
child.close()
sel = selectors.DefaultSelector()
sel.register(parent, selectors.EVENT_READ)
print("READY", flush=True)
sel.select()
parent.recv(100)
os.waitpid(pid, 0)
