"""The 2016 program, fixed: get() before join(TIMEOUT)."""

import multiprocessing
import subprocess

TIMEOUT = 30
COMMAND = "cat /dev/urandom | head -c 1048576"


def child(q):
    proc = subprocess.Popen(COMMAND, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, _err = proc.communicate()
    q.put(out)


if __name__ == "__main__":
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=child, args=(q,))
    p.start()
    data = q.get()
    p.join(TIMEOUT)
    assert len(data) == 1 << 20
