# expect: stalled
# Popen.wait() with an unread stdout PIPE: the child blocks writing, the parent waits for its exit.
import subprocess
import sys

proc = subprocess.Popen(
    [sys.executable, "-c", "import sys; sys.stdout.write('x' * 1_000_000)"], stdout=subprocess.PIPE
)
print("READY", flush=True)
proc.wait()
