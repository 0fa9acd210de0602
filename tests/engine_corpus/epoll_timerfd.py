# expect: live
# epoll, with no timeout of its own, waits on a timerfd armed to fire once after 2.5 s.
import ctypes
import os
import select

libc = ctypes.CDLL(None, use_errno=True)
tfd = libc.timerfd_create(1, 0o2000000)  # CLOCK_MONOTONIC, TFD_CLOEXEC
assert tfd >= 0, ctypes.get_errno()
spec = (ctypes.c_long * 4)(0, 0, 2, 500_000_000)  # it_interval 0, it_value 2.5 s
assert libc.timerfd_settime(tfd, 0, spec, None) == 0, ctypes.get_errno()
ep = select.epoll()
ep.register(tfd, select.EPOLLIN)
print("READY", flush=True)
ep.poll()
os.read(tfd, 8)
