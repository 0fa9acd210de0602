# expect: deadlocked
# epoll waits on the pidfd of a child that waits for a byte only the parent can write, later.
import ctypes
import os
import select

libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.read(r, 1)
    os._exit(0)
os.close(r)
pidfd = libc.syscall(ctypes.c_long(434), ctypes.c_long(pid), ctypes.c_long(0))  # pidfd_open
assert pidfd >= 0, ctypes.get_errno()
ep = select.epoll()
ep.register(pidfd, select.EPOLLIN)
print("READY", flush=True)
ep.poll()
os.write(w, b"x")
os.waitpid(pid, 0)
