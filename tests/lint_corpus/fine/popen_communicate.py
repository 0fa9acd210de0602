"""Popen with pipes, communicate() (the seed's own reading)."""

import subprocess

if __name__ == "__main__":
    proc = subprocess.Popen(
        ["/bin/sh", "-c", "head -c 1048576 /dev/zero"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = proc.communicate()
    proc.wait()
