# expect: deadlocked
# epoll waits a second time on a one-shot timerfd that already fired: it is disarmed for ever.
import ctypes
import os
import select

libc = ctypes.CDLL(None, use_errno=True)
tfd = libc.timerfd_create(1, 0o2000000)  # CLOCK_MONOTONIC, TFD_CLOEXEC
assert tfd >= 0, ctypes.get_errno()
spec = (ctypes.c_long * 4)(0, 0, 0, 200_000_000)  # it_interval 0, it_value 0.2 s
assert libc.timerfd_settime(tfd, 0, spec, None) == 0, ctypes.get_errno()
ep = select.epoll()
ep.register(tfd, select.EPOLLIN)
ep.poll()
os.read(tfd, 8)
print("READY", flush=True)
ep.poll()
