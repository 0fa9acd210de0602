# expect: live
# epoll waits on a signalfd for SIGUSR1, which a helper process sends after 2 s.
import ctypes
import os
import select
import signal
import subprocess

libc = ctypes.CDLL(None, use_errno=True)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
mask = (ctypes.c_ulong * 16)()
mask[0] = 1 << (signal.SIGUSR1 - 1)
sfd = libc.signalfd(-1, mask, 0o2000000)  # SFD_CLOEXEC
assert sfd >= 0, ctypes.get_errno()
ep = select.epoll()
ep.register(sfd, select.EPOLLIN)
helper = subprocess.Popen(["sh", "-c", "sleep 2; kill -USR1 %d" % os.getpid()])
print("READY", flush=True)
ep.poll()
os.read(sfd, 128)
helper.wait()
