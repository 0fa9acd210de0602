# expect: deadlocked
# The main thread waits for an event that no thread exists to set.
import threading

print("READY", flush=True)
threading.Event().wait()
