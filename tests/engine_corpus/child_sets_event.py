# expect: live
# The parent waits on an Event the child sets once it has started. Under spawn and forkserver
# the child imports this module again (slowly here, as a big program would) before it opens the
# semaphore by its name: until then only the parent maps it, and yet the child will post it.
import multiprocessing as mp
import sys
import time

if __name__ == "__mp_main__":
    time.sleep(1.5)  # a slow import in the child


def child(ready, slow):
    time.sleep(slow)  # with fork the import is not repeated: be slow here instead
    ready.set()


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    ready = ctx.Event()
    p = ctx.Process(target=child, args=(ready, 1.5 if sys.argv[1] == "fork" else 0))
    p.start()
    print("READY", flush=True)
    ready.wait()
    p.join()
