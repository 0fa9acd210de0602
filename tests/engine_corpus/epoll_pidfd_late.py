# expect: live
# epoll waits on the pidfd of a child that exits after 2 s.
import ctypes
import os
import select
import time

libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    time.sleep(2)
    os._exit(0)
pidfd = libc.syscall(ctypes.c_long(434), ctypes.c_long(pid), ctypes.c_long(0))  # pidfd_open
assert pidfd >= 0, ctypes.get_errno()
ep = select.epoll()
ep.register(pidfd, select.EPOLLIN)
print("READY", flush=True)
ep.poll()
os.waitpid(pid, 0)
