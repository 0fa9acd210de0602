# expect: live
# epoll waits on an eventfd that a thread of the same process writes after 2 s.
import ctypes
import os
import select
import sys
import threading
import time

libc = ctypes.CDLL(None, use_errno=True)
efd = libc.eventfd(0, 0o2000000)  # EFD_CLOEXEC
assert efd >= 0, ctypes.get_errno()


def wake():
    time.sleep(2)
    os.write(efd, (1).to_bytes(8, sys.byteorder))


ep = select.epoll()
ep.register(efd, select.EPOLLIN)
t = threading.Thread(target=wake)
t.start()
print("READY", flush=True)
ep.poll()
os.read(efd, 8)
t.join()
