# expect: stalled
# os.fork + waitpid before reading: the child blocks writing a raw os.pipe.
import os

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, b"x" * 1_000_000)
    os._exit(0)
os.close(w)
print("READY", flush=True)
os.waitpid(pid, 0)
os.read(r, 1)
