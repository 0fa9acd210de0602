# expect: stalled
# One process: a thread writes an os.pipe that the main thread reads only after join().
import os
import threading

r, w = os.pipe()
t = threading.Thread(target=os.write, args=(w, b"x" * 1_000_000))
t.start()
print("READY", flush=True)
t.join()
os.read(r, 1)
