# expect: live
# Popen with stdout=PIPE read slowly by a thread while the main thread waits: a correct program.
import subprocess
import sys
import threading
import time

proc = subprocess.Popen(
    [sys.executable, "-c", "import sys; sys.stdout.write('x' * 400_000)"], stdout=subprocess.PIPE
)


def reader():
    while True:
        time.sleep(0.5)
        if not proc.stdout.read(100_000):
            return


t = threading.Thread(target=reader)
t.start()
print("READY", flush=True)
proc.wait()
t.join()
