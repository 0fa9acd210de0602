"""The program from the 2016 report: the child reads a shell command's output through
subprocess, puts it into a Queue, and the parent joins with a timeout before it gets."""

import multiprocessing
import os
import subprocess

TIMEOUT = 30
COMMAND = "cat /dev/urandom | head -c 1048576"


def child(q):
    print("CHILD: PID is", os.getpid())
    proc = subprocess.Popen(COMMAND, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, _err = proc.communicate()
    q.put(out)
    print("CHILD: All done! Goodbye!")


if __name__ == "__main__":
    print("PARENT: PPID is", os.getpid())
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=child, args=(q,))
    p.start()
    print("PARENT: Now joining process")
    p.join(TIMEOUT)  # expect: JS101
    print("PARENT: Waited the child for", TIMEOUT)
    print("PARENT: Child is alive?", p.is_alive())
    data = q.get()
    print("PARENT: Received", len(data), "bytes")
