# expect: deadlocked
# epoll waits on an eventfd that no other thread or process holds: nothing can ever write it.
import ctypes
import select

libc = ctypes.CDLL(None, use_errno=True)
efd = libc.eventfd(0, 0o2000000)  # EFD_CLOEXEC
assert efd >= 0, ctypes.get_errno()
ep = select.epoll()
ep.register(efd, select.EPOLLIN)
print("READY", flush=True)
ep.poll()
