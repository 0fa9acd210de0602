# expect: deadlocked
# One process: a thread waits in recv() on one end of a socketpair; the main thread joins it
# before sending on the other end.
import socket
import threading

a, b = socket.socketpair()
t = threading.Thread(target=b.recv, args=(100,))
t.start()
print("READY", flush=True)
t.join()
a.sendall(b"ping")
