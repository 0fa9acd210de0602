"""Popen with both pipes, wait() before communicate() (the seed's popen_wait variant)."""

import subprocess

if __name__ == "__main__":
    proc = subprocess.Popen(
        ["/bin/sh", "-c", "head -c 1048576 /dev/zero"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.wait()  # expect: JS102
    out, err = proc.communicate()
